// Checks JSON answers against the schemas of an OpenAPI document: the end-to-end tests hold the
// daemon's answers to ZLayer's node-agent API (design.md §8) with it. It implements the part of
// OpenAPI 3.1 / JSON Schema that ZLayer's document uses; a schema with any other keyword makes it
// throw unsupported_schema, so it never passes a value because it skipped a rule.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace nv::test::openapi {

// A schema keyword, $ref, type or format the validator does not implement, or a $ref that does
// not resolve; the message names where in the document, as a JSON pointer.
struct unsupported_schema : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An OpenAPI document as JSON. Loading checks every schema in it (components, responses, request
// bodies, parameters) is one the validator implements, and throws unsupported_schema if not.
struct document {
  nlohmann::json root;
};
document document_from_yaml(std::string_view text);
document load_document(const std::filesystem::path& file);

// ZLayer's node-agent API (../shared/fixtures/zlayer/openapi-node-agent.yaml), loaded once.
const document& zlayer_node_agent();

// One line per problem, each "<JSON pointer into value>: <what was expected, what was there>",
// e.g. `/service_health/0/replicas_running: expected integer, got string "3"`; empty when the
// value is valid. Properties the schema does not list are allowed unless it says
// additionalProperties: false. A number written with a fraction or an exponent (1.0, 1e3) is not
// an integer: ZLayer's Go and Rust clients reject it where they expect one. A schema with
// properties or required fields but no type takes only objects, as ZLayer's clients decode it.
std::vector<std::string> validate(const nlohmann::json& value, const nlohmann::json& schema,
                                  const document& doc = zlayer_node_agent());

// The schema of an answer, e.g. ("/api/v1/deployments/{name}", "get", 200); nullptr when the
// document has no such path, method or status, or that answer has no body of content_type.
const nlohmann::json* response_schema(std::string_view path_template, std::string_view method,
                                      int status,
                                      std::string_view content_type = "application/json",
                                      const document& doc = zlayer_node_agent());

// A component schema by name ("DeploymentDetails"); throws std::out_of_range if there is none.
const nlohmann::json& schema(std::string_view component_name,
                             const document& doc = zlayer_node_agent());

// The document's path template a request path falls under: "/api/v1/deployments/web/services/api"
// (a query string is ignored) gives "/api/v1/deployments/{deployment}/services/{service}". A
// literal segment is preferred over a template at the first segment where two candidates differ,
// as OpenAPI says. nullopt when no path of the document matches.
std::optional<std::string> path_template(std::string_view request_path,
                                         const document& doc = zlayer_node_agent());

// An answer checked whole, by the request that got it: the path is matched to its template, the
// status and content type (parameters such as "; charset=utf-8" ignored) must be documented for
// it, and a JSON body is parsed and validated against the schema. One line per problem, empty
// when the answer conforms. An answer the document lists without a body (a 401, a 204) is not
// looked into.
std::vector<std::string> validate_response(std::string_view method, std::string_view request_path,
                                           int status, std::string_view content_type,
                                           std::string_view body,
                                           const document& doc = zlayer_node_agent());

} // namespace nv::test::openapi
