// The validator the daemon's end-to-end tests hold its answers with, on ZLayer's own document
// (../shared/fixtures/zlayer/openapi-node-agent.yaml) and on small documents written here.
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/openapi_schema.hpp"
#include "tests/support/yaml_json.hpp"

using namespace nv::test;
using namespace nv::test::openapi;
using nlohmann::json;
using testing::ElementsAre;
using testing::HasSubstr;
using testing::IsEmpty;
using testing::SizeIs;

namespace {

const std::vector<std::string> http_methods{"get",     "put",  "post",  "delete",
                                            "options", "head", "patch", "trace"};

// A DeploymentDetails as ZLayer answers GET /api/v1/deployments/{name}.
json deployment_details() {
  return json::parse(R"({
    "name": "web", "status": "running",
    "created_at": "2026-12-02T20:00:00Z", "updated_at": "2026-12-02T20:00:01Z",
    "services": ["api"],
    "service_health": [{"name": "api", "health": "healthy", "replicas_running": 2,
                        "replicas_desired": 2, "endpoints": ["http://127.0.0.1:8080"]}]
  })");
}

// Each `example` under components/schemas, with the schema it illustrates.
struct example_of {
  std::string where; // JSON pointer of the schema
  const json* schema;
  const json* example;
};

void collect_examples(const json& schema, const std::string& where, std::vector<example_of>& out) {
  if (!schema.is_object())
    return;
  if (schema.contains("example"))
    out.push_back({where, &schema, &schema["example"]});
  if (schema.contains("properties"))
    for (const auto& [name, property] : schema["properties"].items())
      collect_examples(property, where + "/properties/" + name, out);
  if (schema.contains("items"))
    collect_examples(schema["items"], where + "/items", out);
  for (const char* keyword : {"allOf", "oneOf", "anyOf"})
    if (schema.contains(keyword))
      for (std::size_t i = 0; i < schema[keyword].size(); ++i)
        collect_examples(schema[keyword][i], where + "/" + keyword + "/" + std::to_string(i), out);
}

} // namespace

TEST(OpenApiDocument, ZLayerNodeAgentLoadsWithEverySchemaSupported) {
  // Loading walks every schema of the file and throws on anything validate() does not implement.
  const document* doc = nullptr;
  ASSERT_NO_THROW(doc = &zlayer_node_agent());
  EXPECT_EQ(doc->root["openapi"], "3.1.0");
  EXPECT_THAT(doc->root["paths"], SizeIs(13));
  EXPECT_THAT(doc->root["components"]["schemas"], SizeIs(22));
}

TEST(OpenApiDocument, CompleteExamplesValidate) {
  std::vector<example_of> examples;
  for (const auto& [name, component] : zlayer_node_agent().root["components"]["schemas"].items())
    collect_examples(component, "#/components/schemas/" + name, examples);
  // These examples are ZLayer's generator filling fields in, not real values; what is wrong with
  // each is asserted in IncompleteExamplesFailForTheirPlaceholders.
  const std::set<std::string> incomplete{"#/components/schemas/DaemonCapabilitiesResponse",
                                         "#/components/schemas/ServiceDetails",
                                         "#/components/schemas/StoredDeployment"};
  int complete = 0;
  for (const auto& e : examples) {
    if (incomplete.count(e.where))
      continue;
    ++complete;
    EXPECT_THAT(validate(*e.example, *e.schema), IsEmpty()) << e.where;
  }
  // 11 components have a complete example, StoredDeployment's two timestamps 2 more.
  EXPECT_EQ(complete, 13);
}

TEST(OpenApiDocument, IncompleteExamplesFailForTheirPlaceholders) {
  const auto& schemas = zlayer_node_agent().root["components"]["schemas"];
  // mode: '' is not a DaemonModeDto.
  EXPECT_THAT(validate(schemas["DaemonCapabilitiesResponse"]["example"],
                       schema("DaemonCapabilitiesResponse")),
              ElementsAre(R"(/mode: expected one of "full", "nested_adaptive", "degraded", )"
                          R"(got string "")"));
  // metrics: '' is not a ServiceMetrics object.
  EXPECT_THAT(validate(schemas["ServiceDetails"]["example"], schema("ServiceDetails")),
              ElementsAre(R"(/metrics: expected object, got string "")"));
  // spec: '{}' is a string, status: '' none of the DeploymentStatus variants.
  const auto stored = validate(schemas["StoredDeployment"]["example"], schema("StoredDeployment"));
  ASSERT_THAT(stored, SizeIs(2));
  EXPECT_EQ(stored[0], R"(/spec: expected object, got string "{}")");
  EXPECT_THAT(stored[1], HasSubstr("/status: matches none of the 5 oneOf alternatives"));
  EXPECT_THAT(stored[1],
              HasSubstr(R"(#0 DeploymentStatus_oneOf: /status: expected object, got string "")"));
}

TEST(OpenApiValidate, DeploymentDetailsAsZLayerAnswersIt) {
  EXPECT_THAT(validate(deployment_details(), schema("DeploymentDetails")), IsEmpty());
}

TEST(OpenApiValidate, AMissingRequiredFieldFails) {
  auto details = deployment_details();
  details.erase("services");
  EXPECT_THAT(validate(details, schema("DeploymentDetails")),
              ElementsAre("/services: missing, DeploymentDetails requires it"));
  details = deployment_details();
  details["service_health"][0].erase("health");
  EXPECT_THAT(validate(details, schema("DeploymentDetails")),
              ElementsAre("/service_health/0/health: missing, ServiceHealthInfo requires it"));
}

TEST(OpenApiValidate, ARetypedFieldFails) {
  auto details = deployment_details();
  details["service_health"][0]["replicas_running"] = "1";
  EXPECT_THAT(
      validate(details, schema("DeploymentDetails")),
      ElementsAre(R"(/service_health/0/replicas_running: expected integer, got string "1")"));
  details = deployment_details();
  details["services"] = "api";
  EXPECT_THAT(validate(details, schema("DeploymentDetails")),
              ElementsAre(R"(/services: expected array, got string "api")"));
  details = deployment_details();
  details["services"][0] = 7;
  EXPECT_THAT(validate(details, schema("DeploymentDetails")),
              ElementsAre("/services/0: expected string, got integer 7"));
  EXPECT_THAT(validate(json::array(), schema("DeploymentDetails")),
              ElementsAre("/: expected object, got array of 0"));
}

TEST(OpenApiValidate, IntegersAreWrittenWithoutAFraction) {
  const auto& replicas = schema("ScaleRequest");
  EXPECT_THAT(validate(json::parse(R"({"replicas": 3})"), replicas), IsEmpty());
  EXPECT_THAT(validate(json::parse(R"({"replicas": 1.5})"), replicas),
              ElementsAre("/replicas: expected integer, got number 1.5"));
  EXPECT_THAT(validate(json::parse(R"({"replicas": 1.0})"), replicas),
              ElementsAre("/replicas: expected integer, got number 1.0"));
  EXPECT_THAT(validate(json::parse(R"({"replicas": 1e2})"), replicas),
              ElementsAre("/replicas: expected integer, got number 100.0"));
}

TEST(OpenApiValidate, MinimumAndFormatRanges) {
  const auto& replicas = schema("ScaleRequest"); // int32, minimum 0
  EXPECT_THAT(validate(json::parse(R"({"replicas": -1})"), replicas),
              ElementsAre("/replicas: expected at least 0, got -1"));
  EXPECT_THAT(validate(json::parse(R"({"replicas": 2147483647})"), replicas), IsEmpty());
  EXPECT_THAT(validate(json::parse(R"({"replicas": 2147483648})"), replicas),
              ElementsAre("/replicas: expected an int32, got 2147483648"));
  // uptime_secs is an int64 with minimum 0.
  const auto& health = schema("HealthResponse");
  EXPECT_THAT(
      validate(
          json::parse(R"({"status": "ok", "version": "1", "uptime_secs": 9223372036854775807})"),
          health),
      IsEmpty());
  EXPECT_THAT(
      validate(
          json::parse(R"({"status": "ok", "version": "1", "uptime_secs": 9223372036854775808})"),
          health),
      ElementsAre("/uptime_secs: expected an int64, got 9223372036854775808"));
  // A double is any number, an integer included.
  const auto metrics = json::parse(R"({"cpu_percent": 12.5, "memory_percent": 3})");
  EXPECT_THAT(validate(metrics, schema("ServiceMetrics")), IsEmpty());
  EXPECT_THAT(validate(json::parse(R"({"cpu_percent": "12.5", "memory_percent": 3})"),
                       schema("ServiceMetrics")),
              ElementsAre(R"(/cpu_percent: expected number, got string "12.5")"));
}

TEST(OpenApiValidate, ExtraFieldsPass) {
  auto details = deployment_details();
  details["nodevisor"] = {{"restarts", 3}};
  details["service_health"][0]["phase"] = "running";
  EXPECT_THAT(validate(details, schema("DeploymentDetails")), IsEmpty());
}

TEST(OpenApiValidate, AdditionalPropertiesFalseRejectsExtraFields) {
  const auto closed = json::parse(R"({"type": "object", "properties": {"a": {"type": "string"}},
                                      "additionalProperties": false})");
  EXPECT_THAT(validate(json::parse(R"({"a": "x"})"), closed), IsEmpty());
  EXPECT_THAT(validate(json::parse(R"({"a": "x", "b/c": 1})"), closed),
              ElementsAre("/b~1c: not allowed, the schema lists no such property and has "
                          "additionalProperties: false"));
  const auto typed =
      json::parse(R"({"type": "object", "additionalProperties": {"type": "integer"}})");
  EXPECT_THAT(validate(json::parse(R"({"a": 1, "b": "2"})"), typed),
              ElementsAre(R"(/b: expected integer, got string "2")"));
}

TEST(OpenApiValidate, NullPassesOnlyWhereNullable) {
  const auto& health = schema("HealthResponse");
  EXPECT_THAT(
      validate(json::parse(R"({"status": "ok", "version": "1", "uptime_secs": null})"), health),
      IsEmpty());
  EXPECT_THAT(validate(json::parse(R"({"status": "ok", "version": null})"), health),
              ElementsAre("/version: expected string, got null"));
  EXPECT_THAT(
      validate(json::parse(R"({"status": "ok", "version": "1", "uptime_secs": "5"})"), health),
      ElementsAre(R"(/uptime_secs: expected integer or null, got string "5")"));
  const auto endpoint = json::parse(R"({"name": "http", "port": 80, "protocol": "tcp"})");
  auto with_url = endpoint;
  with_url["url"] = nullptr;
  EXPECT_THAT(validate(with_url, schema("ServiceEndpoint")), IsEmpty());
  auto with_port = endpoint;
  with_port["port"] = nullptr;
  EXPECT_THAT(validate(with_port, schema("ServiceEndpoint")),
              ElementsAre("/port: expected integer, got null"));
}

TEST(OpenApiValidate, TypeArraysOfOpenApi31) {
  const auto maybe_string = json::parse(R"({"type": ["string", "null"]})");
  EXPECT_THAT(validate(nullptr, maybe_string), IsEmpty());
  EXPECT_THAT(validate("x", maybe_string), IsEmpty());
  EXPECT_THAT(validate(3, maybe_string), ElementsAre("/: expected string or null, got integer 3"));
}

TEST(OpenApiValidate, OneOfNeedsExactlyOneMatch) {
  const auto number_or_integer =
      json::parse(R"({"oneOf": [{"type": "integer"}, {"type": "number"}]})");
  EXPECT_THAT(validate(2.5, number_or_integer), IsEmpty());
  EXPECT_THAT(validate(2, number_or_integer),
              ElementsAre("/: matches 2 of the oneOf alternatives (#0, #1), expected exactly one"));
  EXPECT_THAT(validate("2", number_or_integer),
              ElementsAre(R"(/: matches none of the 2 oneOf alternatives (#0: /: expected )"
                          R"(integer, got string "2" | #1: /: expected number, got string "2"))"));
  // anyOf takes one or more.
  const auto any = json::parse(R"({"anyOf": [{"type": "integer"}, {"type": "number"}]})");
  EXPECT_THAT(validate(2, any), IsEmpty());
  EXPECT_THAT(validate(true, any), SizeIs(1));
}

TEST(OpenApiValidate, DeploymentStatusVariants) {
  const auto& status = schema("DeploymentStatus");
  for (const char* state : {"pending", "deploying", "running", "stopped"})
    EXPECT_THAT(validate(json{{"state", state}}, status), IsEmpty()) << state;
  EXPECT_THAT(validate(json{{"state", "failed"}, {"message", "image pull failed"}}, status),
              IsEmpty());
  // Extra fields do not make a variant match a second alternative.
  EXPECT_THAT(validate(json{{"state", "running"}, {"message", "all good"}}, status), IsEmpty());

  const auto failed_without_message = validate(json{{"state", "failed"}}, status);
  ASSERT_THAT(failed_without_message, SizeIs(1));
  EXPECT_THAT(failed_without_message[0],
              HasSubstr("#3 DeploymentStatus_oneOf_3: /message: missing, "
                        "DeploymentStatus_oneOf_3 requires it"));
  const auto unknown = validate(json{{"state", "paused"}}, status);
  ASSERT_THAT(unknown, SizeIs(1));
  EXPECT_THAT(unknown[0], HasSubstr("/: matches none of the 5 oneOf alternatives"));
  EXPECT_THAT(unknown[0], HasSubstr(R"(/state: expected one of "pending", got string "paused")"));
  // ZLayer's status is an object, not the bare state.
  EXPECT_THAT(validate("running", status),
              ElementsAre(HasSubstr("/: matches none of the 5 oneOf alternatives")));
  // Through StoredDeployment's allOf wrapper.
  auto stored = json::parse(R"({"name": "web", "spec": {}, "created_at": "t", "updated_at": "t",
                                "status": {"state": "running"}})");
  EXPECT_THAT(validate(stored, schema("StoredDeployment")), IsEmpty());
  stored["status"] = {{"state", "failed"}};
  EXPECT_THAT(validate(stored, schema("StoredDeployment")),
              ElementsAre(HasSubstr("/status: matches none of the 5 oneOf alternatives")));
}

TEST(OpenApiResponses, EveryPathMethodAndStatusResolves) {
  const auto& paths = zlayer_node_agent().root["paths"];
  int answers = 0;
  int with_body = 0;
  for (const auto& [path, item] : paths.items()) {
    for (const auto& [method, operation] : item.items()) {
      if (std::find(http_methods.begin(), http_methods.end(), method) == http_methods.end())
        continue;
      for (const auto& [status, response] : operation["responses"].items()) {
        ++answers;
        const int code = std::stoi(status);
        if (!response.contains("content")) {
          EXPECT_EQ(response_schema(path, method, code), nullptr) << method << " " << path;
          continue;
        }
        for (const auto& [type, media] : response["content"].items()) {
          ++with_body;
          const auto* found = response_schema(path, method, code, type);
          ASSERT_NE(found, nullptr) << method << " " << path << " " << status << " " << type;
          EXPECT_EQ(found, &media["schema"]);
        }
      }
      // The request path a client would send finds its template again.
      std::string request;
      for (std::size_t at = 0; at < path.size();) {
        const auto open = path.find('{', at);
        if (open == std::string::npos) {
          request += path.substr(at);
          break;
        }
        request += path.substr(at, open - at) + "x";
        at = path.find('}', open) + 1;
      }
      EXPECT_EQ(path_template(request), path) << request;
    }
  }
  EXPECT_EQ(answers, 41);
  EXPECT_EQ(with_body, 13);
}

TEST(OpenApiResponses, SchemasByTemplate) {
  const auto* details = response_schema("/api/v1/deployments/{name}", "get", 200);
  ASSERT_NE(details, nullptr);
  EXPECT_EQ(*details, json::parse(R"({"$ref": "#/components/schemas/DeploymentDetails"})"));
  const auto* logs = response_schema("/api/v1/deployments/{deployment}/services/{service}/logs",
                                     "get", 200, "text/plain");
  ASSERT_NE(logs, nullptr);
  EXPECT_EQ(*logs, json::parse(R"({"type": "string"})"));
  EXPECT_EQ(response_schema("/api/v1/deployments/{deployment}/services/{service}/logs", "get", 200),
            nullptr);
  EXPECT_EQ(response_schema("/api/v1/deployments/{name}", "delete", 204), nullptr);
  EXPECT_EQ(response_schema("/api/v1/deployments/{name}", "get", 500), nullptr);
  EXPECT_EQ(response_schema("/api/v1/deployments/{name}", "put", 200), nullptr);
  EXPECT_EQ(response_schema("/api/v1/nodes", "get", 200), nullptr);
  EXPECT_THROW(schema("Deployment"), std::out_of_range);
}

TEST(OpenApiResponses, RequestPathsFindTheirTemplate) {
  EXPECT_EQ(path_template("/api/v1/deployments/web/services/api"),
            "/api/v1/deployments/{deployment}/services/{service}");
  EXPECT_EQ(path_template("/api/v1/deployments/web/services/api/logs?lines=10&follow=false"),
            "/api/v1/deployments/{deployment}/services/{service}/logs");
  EXPECT_EQ(path_template("/api/v1/deployments"), "/api/v1/deployments");
  EXPECT_EQ(path_template("/api/v1/deployments/web"), "/api/v1/deployments/{name}");
  EXPECT_EQ(path_template("/api/v1/deployments/web/spec"), "/api/v1/deployments/{name}/spec");
  EXPECT_EQ(path_template("/api/v1/internal/replicas/api"), "/api/v1/internal/replicas/{service}");
  EXPECT_EQ(path_template("/health/live"), "/health/live");
  EXPECT_EQ(path_template("/api/v1/deployments//services"), std::nullopt);
  EXPECT_EQ(path_template("/api/v1/deployments/web/"), std::nullopt);
  EXPECT_EQ(path_template("/api/v2/deployments"), std::nullopt);
  EXPECT_EQ(path_template(""), std::nullopt);

  // A literal segment wins over a template, whatever order the document lists them in.
  const auto doc = document_from_yaml(R"(
paths:
  /a/{x}/c: {}
  /a/{x}/{y}: {}
  /a/b/{y}: {}
  /a/~me: {}
  /a/{x}: {}
)");
  // The document's JSON object is sorted by key and '{' sorts before '~': order does not decide.
  EXPECT_EQ(path_template("/a/~me", doc), "/a/~me");
  EXPECT_EQ(path_template("/a/you", doc), "/a/{x}");
  EXPECT_EQ(path_template("/a/b/c", doc), "/a/b/{y}");
  EXPECT_EQ(path_template("/a/q/c", doc), "/a/{x}/c");
  EXPECT_EQ(path_template("/a/q/r", doc), "/a/{x}/{y}");
}

TEST(OpenApiResponses, ValidateResponseByTheRequestItAnswers) {
  EXPECT_THAT(validate_response("GET", "/api/v1/deployments/web", 200,
                                "application/json; charset=utf-8", deployment_details().dump()),
              IsEmpty());
  auto broken = deployment_details();
  broken.erase("status");
  EXPECT_THAT(
      validate_response("GET", "/api/v1/deployments/web", 200, "application/json", broken.dump()),
      ElementsAre("GET /api/v1/deployments/web 200: /status: missing, DeploymentDetails "
                  "requires it"));
  // A list answer: items by index.
  EXPECT_THAT(validate_response("GET", "/api/v1/deployments", 200, "application/json",
                                R"([{"name": "web", "status": "running", "created_at": "t",
                                     "service_count": "1"}])"),
              ElementsAre(R"(GET /api/v1/deployments 200: /0/service_count: expected integer, )"
                          R"(got string "1")"));
  EXPECT_THAT(validate_response("GET", "/api/v1/deployments", 200, "application/json", "[]"),
              IsEmpty());
  EXPECT_THAT(validate_response("GET", "/api/v1/deployments", 200, "application/json", "[{"),
              ElementsAre(HasSubstr("GET /api/v1/deployments 200: the body is not JSON")));
  EXPECT_THAT(
      validate_response("GET", "/api/v1/deployments", 200, "application/json", "\xff\xfe not JSON"),
      ElementsAre(R"(GET /api/v1/deployments 200: the body is not JSON: string )"
                  R"("\ufffd\ufffd not JSON")"));
  EXPECT_THAT(validate_response("GET", "/api/v1/deployments", 200, "text/plain", "[]"),
              ElementsAre(R"(GET /api/v1/deployments 200: answered with content type )"
                          R"("text/plain", the API documents application/json)"));
  // The logs are text.
  EXPECT_THAT(validate_response("GET", "/api/v1/deployments/web/services/api/logs?lines=5", 200,
                                "text/plain; charset=utf-8", "line 1\nline 2\n"),
              IsEmpty());
  // Documented without a body: whatever nodevisor adds is not looked into.
  EXPECT_THAT(validate_response("GET", "/api/v1/deployments/web", 404, "application/json",
                                R"({"error": "no deployment web"})"),
              IsEmpty());
  EXPECT_THAT(validate_response("DELETE", "/api/v1/deployments/web", 204, "", ""), IsEmpty());
  // What the document does not have.
  EXPECT_THAT(validate_response("GET", "/api/v1/deployments/web", 500, "application/json", "{}"),
              ElementsAre("GET /api/v1/deployments/web 500: status 500 is not documented for GET "
                          "/api/v1/deployments/{name} (it documents 200, 401, 404)"));
  EXPECT_THAT(validate_response("PUT", "/api/v1/deployments/web", 200, "application/json", "{}"),
              ElementsAre("PUT /api/v1/deployments/web 200: the API has no PUT on "
                          "/api/v1/deployments/{name}"));
  EXPECT_THAT(validate_response("GET", "/api/v1/nodes", 200, "application/json", "{}"),
              ElementsAre("GET /api/v1/nodes 200: no path of the API matches /api/v1/nodes"));
}

TEST(OpenApiSupport, UnknownKeywordsInTheDocumentThrow) {
  const auto throws_naming = [](const char* yaml, const std::string& where) {
    try {
      document_from_yaml(yaml);
      ADD_FAILURE() << "no throw; expected one naming " << where;
    } catch (const unsupported_schema& e) {
      EXPECT_THAT(e.what(), HasSubstr(where));
    }
  };
  throws_naming(R"(
components:
  schemas:
    Name:
      properties:
        first:
          type: string
          pattern: '^[a-z]+$'
)",
                "#/components/schemas/Name/properties/first/pattern: keyword \"pattern\"");
  throws_naming(R"(
components:
  schemas:
    When:
      type: string
      format: date-time
)",
                "#/components/schemas/When/format: format \"date-time\"");
  throws_naming(R"(
components:
  schemas:
    Remote:
      $ref: 'other.yaml#/components/schemas/X'
)",
                "#/components/schemas/Remote/$ref: $ref \"other.yaml#/components/schemas/X\"");
  throws_naming(R"(
components:
  schemas:
    Dangling:
      items:
        $ref: '#/components/schemas/Nowhere'
)",
                "#/components/schemas/Dangling/items/$ref: $ref "
                "\"#/components/schemas/Nowhere\", which does not resolve");
  throws_naming(R"(
paths:
  /things:
    get:
      responses:
        '200':
          content:
            application/json:
              schema:
                type: array
                maxItems: 3
)",
                "#/paths/~1things/get/responses/200/content/application~1json/schema/maxItems");
  throws_naming(R"(
components:
  schemas:
    MaybeMetrics:
      allOf:
      - $ref: '#/components/schemas/Metrics'
      nullable: true
    Metrics:
      type: object
)",
                "#/components/schemas/MaybeMetrics/nullable: nullable: true without a type");
  throws_naming(R"(
components:
  schemas:
    Odd:
      type: uuid
)",
                "#/components/schemas/Odd/type: type \"uuid\"");
}

TEST(OpenApiSupport, UnknownKeywordsInASchemaThrowOnValidate) {
  EXPECT_THROW(validate("abc", json::parse(R"({"type": "string", "maxLength": 2})")),
               unsupported_schema);
  EXPECT_THROW(validate(json::object(), json::parse(R"({"properties": {"a": {"const": 1}}})")),
               unsupported_schema);
  EXPECT_THROW(validate(1, json::parse(R"({"$ref": "#/components/schemas/Nowhere"})")),
               unsupported_schema);
}

TEST(YamlToJson, ScalarsTakeTheCoreSchema) {
  const auto value = yaml_to_json(R"(
quoted_code: '200'
plain_int: 0
negative: -12
hex: 0x1f
octal: 0o17
leading_zero: 007
huge: 123456789012345678901234567890
float: 1.5
yes: true
no: False
tilde: ~
empty:
empty_string: ''
timestamp: 2025-01-27 12:00:00+00:00
word: status
list: [1, 'a', null]
)");
  EXPECT_EQ(value, json::parse(R"({
    "quoted_code": "200", "plain_int": 0, "negative": -12, "hex": 31, "octal": 15, "leading_zero": 7,
    "huge": 1.2345678901234568e29, "float": 1.5,
    "yes": true, "no": false, "tilde": null, "empty": null, "empty_string": "",
    "timestamp": "2025-01-27 12:00:00+00:00", "word": "status", "list": [1, "a", null]
  })"));
  EXPECT_TRUE(value["plain_int"].is_number_integer());
  EXPECT_THROW(yaml_to_json("a: [1"), std::runtime_error);
}
