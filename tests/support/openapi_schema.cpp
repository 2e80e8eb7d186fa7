#include "tests/support/openapi_schema.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <limits>

#include "tests/support/yaml_json.hpp"

namespace nv::test::openapi {
namespace {

using nlohmann::json;

// Keywords that constrain a value, each implemented below.
constexpr std::array validation_keywords{"$ref",
                                         "allOf",
                                         "oneOf",
                                         "anyOf",
                                         "type",
                                         "nullable",
                                         "required",
                                         "properties",
                                         "items",
                                         "enum",
                                         "minimum",
                                         "format",
                                         "additionalProperties"};
// Keywords that only annotate: they cannot make a value invalid.
constexpr std::array annotation_keywords{"description", "example", "examples",
                                         "title",       "default", "deprecated"};
constexpr std::array type_names{"null",   "boolean", "integer", "number",
                                "string", "array",   "object"};
constexpr std::array format_names{"int32", "int64", "double"};
constexpr std::array http_methods{"get",     "put",  "post",  "delete",
                                  "options", "head", "patch", "trace"};

template <std::size_t N>
bool one_of(const std::array<const char*, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string escape_pointer_token(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

[[noreturn]] void unsupported(const std::string& where, const std::string& what) {
  throw unsupported_schema(where + ": " + what +
                           " (the OpenAPI test validator in tests/support/openapi_schema.cpp does "
                           "not implement it; implement it there rather than skip it)");
}

// What a $ref points at, or throws: only references into the same document are followed.
const json& resolve(const document& doc, const json& ref, const std::string& where) {
  if (!ref.is_string())
    unsupported(where, "a $ref that is not a string");
  const auto& target = ref.get_ref<const std::string&>();
  if (target.rfind("#/", 0) != 0)
    unsupported(where, "$ref \"" + target + "\", which is not within this document");
  try {
    const json::json_pointer pointer{target.substr(1)};
    if (doc.root.contains(pointer))
      return doc.root.at(pointer);
  } catch (const json::exception&) { // not a JSON pointer; said below
  }
  unsupported(where, "$ref \"" + target + "\", which does not resolve");
}

// The component a $ref names ("DeploymentDetails"), for messages.
std::string ref_name(const json& ref) {
  const auto& target = ref.get_ref<const std::string&>();
  return target.substr(target.rfind('/') + 1);
}

// Every keyword of the schema, and of the schemas within it, is one validate() implements, with
// a value of the shape it expects. $refs must resolve, but are not followed: what they point at
// is checked where it is defined.
void check_supported(const json& schema, const document& doc, const std::string& where) {
  if (schema.is_boolean())
    return;
  if (!schema.is_object())
    unsupported(where, "a schema that is neither an object nor a boolean");
  for (const auto& [key, value] : schema.items()) {
    const auto at = where + "/" + escape_pointer_token(key);
    if (one_of(annotation_keywords, key))
      continue;
    if (!one_of(validation_keywords, key))
      unsupported(at, "keyword \"" + key + "\"");
    if (key == "$ref") {
      resolve(doc, value, at);
    } else if (key == "allOf" || key == "oneOf" || key == "anyOf") {
      if (!value.is_array() || value.empty())
        unsupported(at, key + " that is not a non-empty array");
      for (std::size_t i = 0; i < value.size(); ++i)
        check_supported(value[i], doc, at + "/" + std::to_string(i));
    } else if (key == "type") {
      const auto types = value.is_array() ? value : json::array({value});
      for (const auto& type : types)
        if (!type.is_string() || !one_of(type_names, type.get_ref<const std::string&>()))
          unsupported(at, "type " + type.dump());
    } else if (key == "nullable") {
      if (!value.is_boolean())
        unsupported(at, "nullable that is not a boolean");
      // OpenAPI 3.0.3 gives nullable no effect without a type beside it, where writers often
      // mean "or null": the validator would reject a null the author meant to allow.
      if (value == true && !schema.contains("type"))
        unsupported(at, "nullable: true without a type in the same schema");
    } else if (key == "required") {
      if (!value.is_array() ||
          !std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); }))
        unsupported(at, "required that is not an array of names");
    } else if (key == "properties") {
      if (!value.is_object())
        unsupported(at, "properties that is not an object");
      for (const auto& [name, property] : value.items())
        check_supported(property, doc, at + "/" + escape_pointer_token(name));
    } else if (key == "items" || key == "additionalProperties") {
      check_supported(value, doc, at);
    } else if (key == "enum") {
      if (!value.is_array())
        unsupported(at, "enum that is not an array");
    } else if (key == "minimum") {
      if (!value.is_number())
        unsupported(at, "minimum that is not a number");
    } else if (key == "format") {
      if (!value.is_string() || !one_of(format_names, value.get_ref<const std::string&>()))
        unsupported(at, "format " + value.dump());
    }
  }
}

// Each schema the document holds: its components, and what its paths take and answer.
void check_document(const document& doc) {
  const auto& root = doc.root;
  if (!root.is_object())
    throw unsupported_schema("the document is not a mapping");
  if (root.contains("components") && root["components"].contains("schemas"))
    for (const auto& [name, schema] : root["components"]["schemas"].items())
      check_supported(schema, doc, "#/components/schemas/" + escape_pointer_token(name));
  if (!root.contains("paths"))
    return;
  const auto check_content = [&](const json& holder, const std::string& where) {
    if (holder.contains("$ref"))
      unsupported(where, "a $ref to a response, request body or parameter");
    if (holder.contains("content"))
      for (const auto& [type, media] : holder["content"].items())
        if (media.contains("schema"))
          check_supported(media["schema"], doc,
                          where + "/content/" + escape_pointer_token(type) + "/schema");
  };
  const auto check_parameters = [&](const json& holder, const std::string& where) {
    if (!holder.contains("parameters"))
      return;
    const auto& parameters = holder["parameters"];
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      const auto at = where + "/parameters/" + std::to_string(i);
      if (parameters[i].contains("$ref"))
        unsupported(at, "a $ref to a parameter");
      if (parameters[i].contains("schema"))
        check_supported(parameters[i]["schema"], doc, at + "/schema");
    }
  };
  for (const auto& [path, item] : root["paths"].items()) {
    const auto at = "#/paths/" + escape_pointer_token(path);
    std::string_view rest{path};
    while (!rest.empty()) {
      rest.remove_prefix(1);
      const auto segment = rest.substr(0, rest.find('/'));
      rest.remove_prefix(segment.size());
      const bool whole = segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
      if (!whole && segment.find_first_of("{}") != std::string_view::npos)
        unsupported(at, "a path segment that is part template, part literal");
    }
    check_parameters(item, at);
    for (const auto& [method, operation] : item.items()) {
      if (!one_of(http_methods, method))
        continue;
      const auto op = at + "/" + method;
      check_parameters(operation, op);
      if (operation.contains("requestBody"))
        check_content(operation["requestBody"], op + "/requestBody");
      if (operation.contains("responses"))
        for (const auto& [status, response] : operation["responses"].items())
          check_content(response, op + "/responses/" + status);
    }
  }
}

std::string describe(const json& value) {
  constexpr std::size_t longest = 60;
  auto shown = [&](std::string text) {
    if (text.size() > longest)
      text = text.substr(0, longest) + "...";
    return text;
  };
  switch (value.type()) {
  case json::value_t::null:
    return "null";
  case json::value_t::boolean:
    return "boolean " + value.dump();
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
    return "integer " + value.dump();
  case json::value_t::number_float:
    return "number " + value.dump();
  case json::value_t::string:
    // ASCII escapes: a cut cannot split a character, and bad UTF-8 shows instead of throwing.
    return "string " + shown(value.dump(-1, ' ', true, json::error_handler_t::replace));
  case json::value_t::array:
    return "array of " + std::to_string(value.size());
  case json::value_t::object:
    return "object";
  default:
    return "a value of no JSON type";
  }
}

// A number written without a fraction or exponent is one nlohmann keeps as an integer.
bool has_type(const json& value, std::string_view type) {
  if (type == "null")
    return value.is_null();
  if (type == "boolean")
    return value.is_boolean();
  if (type == "integer")
    return value.is_number_integer();
  if (type == "number")
    return value.is_number();
  if (type == "string")
    return value.is_string();
  if (type == "array")
    return value.is_array();
  if (type == "object")
    return value.is_object();
  return false;
}

// long double holds every int64 and uint64 exactly, so integer comparisons are exact too.
long double as_number(const json& value) {
  if (value.is_number_unsigned())
    return static_cast<long double>(value.get<std::uint64_t>());
  if (value.is_number_integer())
    return static_cast<long double>(value.get<std::int64_t>());
  return static_cast<long double>(value.get<double>());
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty())
      out += separator;
    out += part;
  }
  return out;
}

// The types a schema allows, as an array; nullopt when it does not say. A schema that lists
// properties or required fields without a type is an object here: ZLayer's generator (utoipa)
// leaves `type: object` out of its structs, and its clients decode them as structs, which a
// string or an array is not. Plain JSON Schema would let any non-object through.
std::optional<json> declared_types(const json& schema) {
  if (const auto it = schema.find("type"); it != schema.end())
    return it->is_array() ? *it : json::array({*it});
  if (schema.contains("properties") || schema.contains("required"))
    return json::array({"object"});
  return std::nullopt;
}

class validator {
public:
  explicit validator(const document& doc) : doc_{doc} {}

  // `name` is the component the schema belongs to, for messages; `where` the JSON pointer.
  std::vector<std::string> check(const json& value, const json& schema, const std::string& where,
                                 const std::string& name, int depth) const {
    // A $ref cycle that consumes no part of the value would recurse forever.
    if (depth > 200)
      throw unsupported_schema(where + ": schemas nest more than 200 deep ($ref cycle?)");
    std::vector<std::string> problems;
    const auto at = where.empty() ? std::string{"/"} : where;
    auto add = [&](std::string problem) { problems.push_back(std::move(problem)); };
    auto add_all = [&](std::vector<std::string> more) {
      problems.insert(problems.end(), std::make_move_iterator(more.begin()),
                      std::make_move_iterator(more.end()));
    };
    if (schema.is_boolean()) {
      if (!schema.get<bool>())
        add(at + ": not allowed here (the schema is false)");
      return problems;
    }

    if (const auto it = schema.find("$ref"); it != schema.end())
      add_all(check(value, resolve(doc_, *it, where), where, ref_name(*it), depth + 1));

    if (const auto types_of = declared_types(schema)) {
      auto types = *types_of;
      // OpenAPI 3.0's nullable adds null to the types the same schema names.
      if (schema.value("nullable", false))
        types.push_back("null");
      const bool matches = std::any_of(types.begin(), types.end(), [&](const json& type) {
        return has_type(value, type.get_ref<const std::string&>());
      });
      if (!matches) {
        std::vector<std::string> names;
        for (const auto& type : types)
          names.push_back(type.get<std::string>());
        add(at + ": expected " + join(names, " or ") + ", got " + describe(value));
        return problems; // the rest of this schema is about the type it expected
      }
    }

    if (const auto it = schema.find("enum"); it != schema.end()) {
      if (std::find(it->begin(), it->end(), value) == it->end()) {
        std::vector<std::string> allowed;
        for (const auto& v : *it)
          allowed.push_back(v.dump());
        add(at + ": expected one of " + join(allowed, ", ") + ", got " + describe(value));
      }
    }

    if (value.is_number()) {
      if (const auto it = schema.find("minimum"); it != schema.end())
        if (as_number(value) < as_number(*it))
          add(at + ": expected at least " + it->dump() + ", got " + value.dump());
      if (const auto it = schema.find("format"); it != schema.end() && value.is_number_integer()) {
        const auto n = as_number(value);
        if (*it == "int32" && (n < std::numeric_limits<std::int32_t>::min() ||
                               n > std::numeric_limits<std::int32_t>::max()))
          add(at + ": expected an int32, got " + value.dump());
        if (*it == "int64" && (n < std::numeric_limits<std::int64_t>::min() ||
                               n > std::numeric_limits<std::int64_t>::max()))
          add(at + ": expected an int64, got " + value.dump());
      }
      // "double": every number a JSON text holds fits one.
    }

    if (value.is_object()) {
      const json no_properties = json::object();
      const auto& properties = schema.contains("properties") ? schema["properties"] : no_properties;
      if (const auto it = schema.find("required"); it != schema.end())
        for (const auto& field : *it)
          if (!value.contains(field.get_ref<const std::string&>()))
            add(where + "/" + escape_pointer_token(field.get_ref<const std::string&>()) +
                ": missing" + (name.empty() ? "" : ", " + name + " requires it"));
      const auto extra = schema.find("additionalProperties");
      for (const auto& [key, field] : value.items()) {
        const auto field_at = where + "/" + escape_pointer_token(key);
        if (const auto p = properties.find(key); p != properties.end())
          add_all(check(field, *p, field_at, name, depth + 1));
        else if (extra != schema.end() && *extra == false)
          add(field_at + ": not allowed, " + (name.empty() ? "the schema" : name) +
              " lists no such property and has additionalProperties: false");
        else if (extra != schema.end())
          add_all(check(field, *extra, field_at, name, depth + 1));
      }
    }

    if (value.is_array())
      if (const auto it = schema.find("items"); it != schema.end())
        for (std::size_t i = 0; i < value.size(); ++i)
          add_all(check(value[i], *it, where + "/" + std::to_string(i), name, depth + 1));

    if (const auto it = schema.find("allOf"); it != schema.end())
      for (const auto& part : *it)
        add_all(check(value, part, where, name, depth + 1));

    for (const char* keyword : {"oneOf", "anyOf"}) {
      const auto it = schema.find(keyword);
      if (it == schema.end())
        continue;
      std::vector<std::string> matched;
      std::vector<std::string> misses;
      for (std::size_t i = 0; i < it->size(); ++i) {
        const auto& alternative = (*it)[i];
        const auto label =
            "#" + std::to_string(i) +
            (alternative.contains("$ref") ? " " + ref_name(alternative["$ref"]) : "");
        auto failures = check(value, alternative, where, name, depth + 1);
        if (failures.empty())
          matched.push_back(label);
        else
          misses.push_back(label + ": " + join(failures, "; "));
      }
      if (matched.empty())
        add(at + ": matches none of the " + std::to_string(it->size()) + " " + keyword +
            " alternatives (" + join(misses, " | ") + ")");
      else if (std::string_view{keyword} == "oneOf" && matched.size() > 1)
        add(at + ": matches " + std::to_string(matched.size()) + " of the oneOf alternatives (" +
            join(matched, ", ") + "), expected exactly one");
    }
    return problems;
  }

private:
  const document& doc_;
};

const json* find(const json& object, std::string_view key) {
  if (!object.is_object())
    return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// The response object for a status: its own code, else its range ("4XX"), else "default".
const json* find_response(const document& doc, std::string_view path_template,
                          std::string_view method, int status) {
  const auto* paths = find(doc.root, "paths");
  const auto* item = paths ? find(*paths, path_template) : nullptr;
  const auto* operation = item ? find(*item, method) : nullptr;
  const auto* responses = operation ? find(*operation, "responses") : nullptr;
  if (!responses)
    return nullptr;
  const auto code = std::to_string(status);
  for (const auto& key : {code, code.substr(0, 1) + "XX", std::string{"default"}})
    if (const auto* response = find(*responses, key))
      return response;
  return nullptr;
}

// The component a schema is, by address, so messages can name it; "" for any other schema.
std::string component_name(const json& schema, const document& doc) {
  const auto* components = find(doc.root, "components");
  const auto* schemas = components ? find(*components, "schemas") : nullptr;
  if (schemas)
    for (const auto& [name, component] : schemas->items())
      if (&component == &schema)
        return name;
  return "";
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty() && path.front() == '/') {
    path.remove_prefix(1);
    const auto segment = path.substr(0, path.find('/'));
    out.push_back(segment);
    path.remove_prefix(segment.size());
  }
  return out;
}

bool is_template(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

std::string lowercase(std::string_view text) {
  std::string out{text};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "application/json; charset=utf-8" -> "application/json".
std::string media_type(std::string_view content_type) {
  auto type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back())))
    type.remove_suffix(1);
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.front())))
    type.remove_prefix(1);
  return lowercase(type);
}

bool is_json(std::string_view type) {
  return type == "application/json" || (type.size() > 5 && type.substr(type.size() - 5) == "+json");
}

} // namespace

document document_from_yaml(std::string_view text) {
  document doc{yaml_to_json(text)};
  check_document(doc);
  return doc;
}

document load_document(const std::filesystem::path& file) {
  document doc{yaml_file_to_json(file)};
  try {
    check_document(doc);
  } catch (const unsupported_schema& e) {
    throw unsupported_schema(file.string() + ": " + e.what());
  }
  return doc;
}

const document& zlayer_node_agent() {
  static const document doc = load_document(std::filesystem::path{NV_SOURCE_DIR} / ".." / "shared" /
                                            "fixtures" / "zlayer" / "openapi-node-agent.yaml");
  return doc;
}

std::vector<std::string> validate(const json& value, const json& schema, const document& doc) {
  check_supported(schema, doc, "(the schema validated against)");
  return validator{doc}.check(value, schema, "", component_name(schema, doc), 0);
}

const json* response_schema(std::string_view path_template, std::string_view method, int status,
                            std::string_view content_type, const document& doc) {
  const auto* response = find_response(doc, path_template, method, status);
  const auto* content = response ? find(*response, "content") : nullptr;
  const auto* media = content ? find(*content, content_type) : nullptr;
  return media ? find(*media, "schema") : nullptr;
}

const json& schema(std::string_view component_name, const document& doc) {
  const auto* components = find(doc.root, "components");
  const auto* schemas = components ? find(*components, "schemas") : nullptr;
  const auto* found = schemas ? find(*schemas, component_name) : nullptr;
  if (!found)
    throw std::out_of_range("the OpenAPI document has no component schema \"" +
                            std::string{component_name} + "\"");
  return *found;
}

std::optional<std::string> path_template(std::string_view request_path, const document& doc) {
  request_path = request_path.substr(0, request_path.find_first_of("?#"));
  const auto asked = segments(request_path);
  const auto* paths = find(doc.root, "paths");
  if (!paths)
    return std::nullopt;
  std::optional<std::string> best;
  std::vector<bool> best_literals;
  for (const auto& [candidate, item] : paths->items()) {
    const auto pattern = segments(candidate);
    if (pattern.size() != asked.size())
      continue;
    std::vector<bool> literals;
    bool matches = true;
    for (std::size_t i = 0; i < pattern.size() && matches; ++i) {
      literals.push_back(!is_template(pattern[i]));
      matches = literals.back() ? pattern[i] == asked[i] : !asked[i].empty();
    }
    // vector<bool> compares lexicographically: a literal (true) first wins.
    if (matches && (!best || literals > best_literals)) {
      best = candidate;
      best_literals = std::move(literals);
    }
  }
  return best;
}

std::vector<std::string> validate_response(std::string_view method, std::string_view request_path,
                                           int status, std::string_view content_type,
                                           std::string_view body, const document& doc) {
  const auto verb = lowercase(method);
  auto answer =
      std::string{method} + " " + std::string{request_path} + " " + std::to_string(status);
  const auto tmpl = path_template(request_path, doc);
  if (!tmpl)
    return {answer + ": no path of the API matches " + std::string{request_path}};
  const auto* operation = find(doc.root["paths"][*tmpl], verb);
  if (!operation)
    return {answer + ": the API has no " + std::string{method} + " on " + *tmpl};
  const auto* response = find_response(doc, *tmpl, verb, status);
  if (!response) {
    std::vector<std::string> documented;
    if (const auto* responses = find(*operation, "responses"))
      for (const auto& [code, _] : responses->items())
        documented.push_back(code);
    return {answer + ": status " + std::to_string(status) + " is not documented for " +
            std::string{method} + " " + *tmpl + " (it documents " + join(documented, ", ") + ")"};
  }
  const auto* content = find(*response, "content");
  if (!content)
    return {};
  const auto type = media_type(content_type);
  const auto* media = find(*content, type);
  if (!media) {
    std::vector<std::string> documented;
    for (const auto& [name, _] : content->items())
      documented.push_back(name);
    return {answer + ": answered with content type \"" + std::string{content_type} +
            "\", the API documents " + join(documented, ", ")};
  }
  const auto* body_schema = find(*media, "schema");
  if (!body_schema)
    return {};
  json value;
  if (is_json(type)) {
    value = json::parse(body, nullptr, false);
    if (value.is_discarded())
      return {answer + ": the body is not JSON: " + describe(json(std::string{body}))};
  } else {
    value = std::string{body};
  }
  auto problems =
      validator{doc}.check(value, *body_schema, "", component_name(*body_schema, doc), 0);
  for (auto& problem : problems)
    problem = answer + ": " + problem;
  return problems;
}

} // namespace nv::test::openapi
