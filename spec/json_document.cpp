// JSON through nlohmann's SAX parser, into the syntax-free tree of document.hpp. SAX, not
// json::parse, because the tree keeps line numbers and the parser's number text.
#include <algorithm>
#include <cstddef>
#include <iterator>

#include <nlohmann/json.hpp>

#include "spec/document.hpp"

namespace nv::spec {

namespace {

// Reports how far the parser has read, which SAX events do not say.
struct counting_iterator {
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  const char* at = nullptr;
  const char* begin = nullptr;
  std::size_t* consumed = nullptr;

  reference operator*() const { return *at; }
  counting_iterator& operator++() {
    ++at;
    *consumed = static_cast<std::size_t>(at - begin);
    return *this;
  }
  bool operator==(const counting_iterator& other) const { return at == other.at; }
};

// Turns byte offsets, which only grow, into lines and columns.
struct position_tracker {
  std::string_view text;
  std::size_t offset = 0;
  uint32_t line = 1;
  std::size_t line_start = 0;

  void advance_to(std::size_t target) {
    target = std::min(target, text.size());
    for (; offset < target; ++offset)
      if (text[offset] == '\n') {
        ++line;
        line_start = offset + 1;
      }
  }
  uint32_t column() const { return static_cast<uint32_t>(offset - line_start + 1); }
};

class tree_builder : public nlohmann::json_sax<nlohmann::json> {
public:
  tree_builder(std::string_view text, const std::string& file, std::vector<problem>& problems)
      : position_{text}, file_(file), problems_(problems) {}

  std::size_t consumed = 0; // bytes the parser has read, kept by counting_iterator
  std::optional<node> root;

  bool null() override { return add({}); }
  bool boolean(bool value) override {
    return add(scalar(node::kind::boolean, value ? "true" : "false"));
  }
  bool number_integer(number_integer_t value) override {
    return add(scalar(node::kind::integer, std::to_string(value)));
  }
  bool number_unsigned(number_unsigned_t value) override {
    return add(scalar(node::kind::integer, std::to_string(value)));
  }
  bool number_float(number_float_t, const string_t& text) override {
    return add(scalar(node::kind::number, text));
  }
  bool string(string_t& value) override {
    return add(scalar(node::kind::string, std::move(value)));
  }
  bool binary(binary_t&) override { return add({}); } // not produced by the JSON text parser
  bool start_object(std::size_t) override { return open(node::kind::map); }
  bool key(string_t& name) override {
    key_ = std::move(name);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(node::kind::list); }
  bool end_array() override { return close(); }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..."
    std::string_view what = e.what();
    auto detail = what.find(": ");
    if (detail != std::string_view::npos)
      what.remove_prefix(detail + 2);
    position_.advance_to(position > 0 ? position - 1 : 0);
    problems_.push_back({file_, "", "invalid JSON: " + std::string{what}, severity::error,
                         position_.line, position_.column()});
    return false;
  }

private:
  node scalar(node::kind type, std::string text) {
    node n;
    n.type = type;
    n.text = std::move(text);
    return n;
  }

  // Positions: the parser has just read past the token, which on one line is close enough.
  void place(node& n) {
    position_.advance_to(consumed > 0 ? consumed - 1 : 0);
    n.line = position_.line;
    n.column = position_.column();
  }

  bool add(node n) {
    place(n);
    if (++values_ > max_document_values)
      return stop("the document has more than " + std::to_string(max_document_values) + " values");
    if (open_.empty()) {
      root = std::move(n);
      return true;
    }
    node& parent = *open_.back();
    if (parent.type == node::kind::map)
      parent.keys.push_back(std::move(key_));
    parent.items.push_back(std::move(n));
    return true;
  }

  bool open(node::kind type) {
    node n;
    n.type = type;
    if (!add(std::move(n)))
      return false;
    if (open_.size() >= max_document_depth)
      return stop("the document nests deeper than " + std::to_string(max_document_depth) +
                  " levels");
    open_.push_back(open_.empty() ? &*root : &open_.back()->items.back());
    return true;
  }

  bool close() {
    open_.pop_back();
    return true;
  }

  bool stop(std::string message) {
    problems_.push_back(
        {file_, "", std::move(message), severity::error, position_.line, position_.column()});
    return false;
  }

  position_tracker position_;
  const std::string& file_;
  std::vector<problem>& problems_;
  std::vector<node*> open_; // the containers being filled; only the innermost one grows
  std::string key_;
  std::size_t values_ = 0;
};

} // namespace

std::optional<node> parse_json(std::string_view text, const std::string& file,
                               std::vector<problem>& problems) {
  tree_builder builder{text, file, problems};
  counting_iterator first{text.data(), text.data(), &builder.consumed};
  counting_iterator last{text.data() + text.size(), text.data(), &builder.consumed};
  try {
    if (!nlohmann::json::sax_parse(first, last, &builder))
      return std::nullopt;
  } catch (const std::exception& e) {
    problems.push_back({file, "", std::string{"cannot read JSON: "} + e.what()});
    return std::nullopt;
  }
  return builder.root ? std::move(builder.root) : node{};
}

} // namespace nv::spec
