// YAML through yaml-cpp's parser, into the syntax-free tree of document.hpp.
#include <exception>
#include <sstream>
#include <unordered_map>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include "spec/document.hpp"

namespace nv::spec {

namespace {

bool is_digits(std::string_view s, std::string_view alphabet) {
  return !s.empty() && s.find_first_not_of(alphabet) == std::string_view::npos;
}

std::string_view without_sign(std::string_view s) {
  if (!s.empty() && (s.front() == '+' || s.front() == '-'))
    s.remove_prefix(1);
  return s;
}

bool is_core_int(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o')
    return is_digits(s.substr(2), "01234567");
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x')
    return is_digits(s.substr(2), "0123456789abcdefABCDEF");
  return is_digits(without_sign(s), "0123456789");
}

// [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )?  and the infinities, NaNs.
bool is_core_float(std::string_view s) {
  if (s == ".nan" || s == ".NaN" || s == ".NAN")
    return true;
  s = without_sign(s);
  if (s == ".inf" || s == ".Inf" || s == ".INF")
    return true;
  auto exponent = s.find_first_of("eE");
  if (exponent != std::string_view::npos) {
    if (!is_digits(without_sign(s.substr(exponent + 1)), "0123456789"))
      return false;
    s = s.substr(0, exponent);
  }
  auto dot = s.find('.');
  if (dot == std::string_view::npos)
    return is_digits(s, "0123456789");
  auto whole = s.substr(0, dot), fraction = s.substr(dot + 1);
  if (whole.empty())
    return is_digits(fraction, "0123456789");
  return is_digits(whole, "0123456789") && (fraction.empty() || is_digits(fraction, "0123456789"));
}

node::kind scalar_kind(const std::string& tag, std::string_view text) {
  // yaml-cpp tags quoted scalars "!" and plain ones "?".
  if (tag == "!" || tag == "tag:yaml.org,2002:str")
    return node::kind::string;
  if (text == "true" || text == "True" || text == "TRUE" || text == "false" || text == "False" ||
      text == "FALSE")
    return node::kind::boolean;
  if (is_core_int(text))
    return node::kind::integer;
  if (is_core_float(text))
    return node::kind::number;
  return node::kind::string;
}

uint32_t one_based(int zero_based) {
  return zero_based >= 0 ? zero_based + 1 : 0;
}

// Thrown from the event handler to end the parse once a problem was recorded.
struct stop_parsing {};

// Builds the tree from yaml-cpp's parser events rather than through YAML::Load: yaml-cpp's
// node graph shares aliased nodes, so a walk of it has no cost bound, and YAML::LoadAll
// loops for ever on some stray flow indicators ("{a: {b}},").
class tree_builder final : public YAML::EventHandler {
public:
  tree_builder(const std::string& file, std::vector<problem>& problems)
      : file_(file), problems_(problems) {}

  std::optional<node> root;
  YAML::Mark start; // of the document

  void OnDocumentStart(const YAML::Mark& at) override { start = at; }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& at, YAML::anchor_t anchor) override {
    auto n = placed(at, node::kind::null);
    spend(n, 1);
    complete(std::move(n), anchor, 1);
  }

  void OnScalar(const YAML::Mark& at, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    auto n = placed(at, scalar_kind(tag, value));
    n.text = value;
    spend(n, 1);
    complete(std::move(n), anchor, 1);
  }

  // An alias is a copy of its anchored node, paid for in full.
  void OnAlias(const YAML::Mark& at, YAML::anchor_t anchor) override {
    auto n = placed(at, node::kind::null);
    auto it = anchored_.find(anchor);
    if (it == anchored_.end()) // yaml-cpp registers an anchor before its content
      stop(n, "a YAML alias refers to a node that contains it");
    spend(n, it->second.cost);
    auto copy = it->second.tree;
    copy.line = n.line;
    copy.column = n.column;
    complete(std::move(copy), YAML::NullAnchor, it->second.cost);
  }

  void OnSequenceStart(const YAML::Mark& at, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(placed(at, node::kind::list), anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& at, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(placed(at, node::kind::map), anchor);
  }
  void OnMapEnd() override { close(); }

private:
  struct open_node {
    node tree;
    YAML::anchor_t anchor;
    std::size_t spent_before;
    bool want_key = true;             // a map's entries alternate keys and values
    std::optional<std::string> key{}; // none: the key was not a string, so drop the value
  };

  struct anchored_node {
    node tree;
    std::size_t cost;
  };

  static node placed(const YAML::Mark& at, node::kind type) {
    node n;
    n.type = type;
    n.line = one_based(at.line);
    n.column = one_based(at.column);
    return n;
  }

  [[noreturn]] void stop(const node& at, std::string message) {
    problems_.push_back({file_, "", std::move(message), severity::error, at.line, at.column});
    throw stop_parsing{};
  }

  // Every value built or copied counts, so alias expansion cannot outgrow the budget.
  void spend(const node& at, std::size_t values) {
    spent_ += values;
    if (spent_ > max_document_values)
      stop(at, "the document has more than " + std::to_string(max_document_values) +
                   " values (after expanding YAML aliases)");
  }

  void open(node n, YAML::anchor_t anchor) {
    spend(n, 1);
    if (stack_.size() >= max_document_depth)
      stop(n, "the document nests deeper than " + std::to_string(max_document_depth) + " levels");
    stack_.push_back({std::move(n), anchor, spent_ - 1});
  }

  void close() {
    auto done = std::move(stack_.back());
    stack_.pop_back();
    complete(std::move(done.tree), done.anchor, spent_ - done.spent_before);
  }

  // `cost`: the values the node took to build, already spent.
  void complete(node n, YAML::anchor_t anchor, std::size_t cost) {
    if (anchor != YAML::NullAnchor) {
      spend(n, cost); // the kept copy
      anchored_[anchor] = {n, cost};
    }
    add(std::move(n));
  }

  void add(node n) {
    if (stack_.empty()) {
      root = std::move(n);
      return;
    }
    auto& parent = stack_.back();
    if (parent.tree.type == node::kind::list) {
      parent.tree.items.push_back(std::move(n));
    } else if (parent.want_key) {
      parent.want_key = false;
      parent.key.reset();
      if (n.type == node::kind::null || n.type == node::kind::list || n.type == node::kind::map)
        problems_.push_back(
            {file_, "", "a mapping key must be a plain string", severity::error, n.line, n.column});
      else
        parent.key = std::move(n.text);
    } else {
      parent.want_key = true;
      if (parent.key) {
        parent.tree.keys.push_back(std::move(*parent.key));
        parent.tree.items.push_back(std::move(n));
      }
    }
  }

  const std::string& file_;
  std::vector<problem>& problems_;
  std::vector<open_node> stack_;
  std::unordered_map<YAML::anchor_t, anchored_node> anchored_;
  std::size_t spent_ = 0;
};

} // namespace

std::optional<node> parse_yaml(std::string_view text, const std::string& file,
                               std::vector<problem>& problems) {
  try {
    std::istringstream in{std::string{text}};
    YAML::Parser parser{in};
    tree_builder first{file, problems};
    if (!parser.HandleNextDocument(first))
      return node{}; // an empty file: the reader says what is missing
    // Only one more look: yaml-cpp may report endless empty documents after some junk.
    tree_builder second{file, problems};
    if (parser.HandleNextDocument(second)) {
      problems.push_back({file, "", "expected one YAML document, found more", severity::error,
                          one_based(second.start.line), one_based(second.start.column)});
      return std::nullopt;
    }
    // Problems recorded without stopping (a key that is not a string) leave a usable tree,
    // so the schema walk can still report the rest.
    return first.root ? std::move(first.root) : node{};
  } catch (const stop_parsing&) {
  } catch (const YAML::Exception& e) {
    problems.push_back({file, "", "invalid YAML: " + e.msg, severity::error, one_based(e.mark.line),
                        one_based(e.mark.column)});
  } catch (const std::exception& e) {
    problems.push_back({file, "", std::string{"cannot read YAML: "} + e.what()});
  }
  return std::nullopt;
}

} // namespace nv::spec
