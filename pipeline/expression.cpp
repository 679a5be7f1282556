#include "pipeline/expression.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

#include "pipeline/did_you_mean.h"

namespace ldh {
namespace {

// ---------------------------------------------------------------------------------------------
// Lexer

enum class TokenKind : std::uint8_t {
  number,
  string,
  identifier,
  left_paren,
  right_paren,
  comma,
  plus,
  minus,
  star,
  slash,
  percent,
  bang,
  and_and,
  or_or,
  equal_equal,
  bang_equal,
  less,
  less_equal,
  greater,
  greater_equal,
  end,
};

struct Token {
  TokenKind kind = TokenKind::end;
  std::size_t offset = 0;
  std::string_view text;  // as written
  double number = 0.0;
  std::string string_value;  // unescaped contents of a string literal
};

bool is_identifier_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool is_identifier_part(char c) {
  return is_identifier_start(c) || (c >= '0' && c <= '9') || c == '.';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string quoted(std::string_view text) {
  std::string result;
  result.reserve(text.size() + 2);
  result += '\'';
  result += text;
  result += '\'';
  return result;
}

std::vector<Token> tokenize(std::string_view text) {
  std::vector<Token> tokens;
  std::size_t position = 0;
  auto add = [&](TokenKind kind, std::size_t length) {
    Token token;
    token.kind = kind;
    token.offset = position;
    token.text = text.substr(position, length);
    tokens.push_back(std::move(token));
    position += length;
  };
  while (position < text.size()) {
    const char c = text[position];
    const char next = position + 1 < text.size() ? text[position + 1] : '\0';
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++position;
    } else if (is_digit(c) || (c == '.' && is_digit(next))) {
      std::size_t end = position;
      while (end < text.size() && is_digit(text[end])) ++end;
      if (end < text.size() && text[end] == '.') {
        ++end;
        while (end < text.size() && is_digit(text[end])) ++end;
      }
      if (end < text.size() && (text[end] == 'e' || text[end] == 'E')) {
        std::size_t exponent = end + 1;
        if (exponent < text.size() && (text[exponent] == '+' || text[exponent] == '-')) {
          ++exponent;
        }
        if (exponent < text.size() && is_digit(text[exponent])) {
          end = exponent;
          while (end < text.size() && is_digit(text[end])) ++end;
        } else {
          throw ExpressionError(position, "malformed number " +
                                              quoted(text.substr(position, exponent - position)) +
                                              ": the exponent needs digits");
        }
      }
      if (end < text.size() && is_identifier_part(text[end])) {
        std::size_t stop = end;
        while (stop < text.size() && is_identifier_part(text[stop])) ++stop;
        throw ExpressionError(position,
                              "malformed number " + quoted(text.substr(position, stop - position)));
      }
      double value = 0.0;
      const auto [rest, status] = std::from_chars(text.data() + position, text.data() + end, value);
      if (status != std::errc() || rest != text.data() + end) {
        throw ExpressionError(position, "number " + quoted(text.substr(position, end - position)) +
                                            " is outside the range of a double");
      }
      add(TokenKind::number, end - position);
      tokens.back().number = value;
    } else if (c == '"' || c == '\'') {
      std::string value;
      std::size_t end = position + 1;
      bool closed = false;
      while (end < text.size()) {
        if (text[end] == c) {
          closed = true;
          break;
        }
        if (text[end] == '\\' && end + 1 < text.size()) {
          const char escaped = text[end + 1];
          value.push_back(escaped == 'n' ? '\n' : escaped == 't' ? '\t' : escaped);
          end += 2;
        } else {
          value.push_back(text[end]);
          ++end;
        }
      }
      if (!closed) throw ExpressionError(position, "unterminated string literal");
      add(TokenKind::string, end + 1 - position);
      tokens.back().string_value = std::move(value);
    } else if (is_identifier_start(c)) {
      std::size_t end = position;
      while (end < text.size() && is_identifier_part(text[end])) ++end;
      add(TokenKind::identifier, end - position);
    } else {
      switch (c) {
        case '(':
          add(TokenKind::left_paren, 1);
          break;
        case ')':
          add(TokenKind::right_paren, 1);
          break;
        case ',':
          add(TokenKind::comma, 1);
          break;
        case '+':
          add(TokenKind::plus, 1);
          break;
        case '-':
          add(TokenKind::minus, 1);
          break;
        case '*':
          add(TokenKind::star, 1);
          break;
        case '/':
          add(TokenKind::slash, 1);
          break;
        case '%':
          add(TokenKind::percent, 1);
          break;
        case '!':
          if (next == '=') {
            add(TokenKind::bang_equal, 2);
          } else {
            add(TokenKind::bang, 1);
          }
          break;
        case '<':
          if (next == '=') {
            add(TokenKind::less_equal, 2);
          } else {
            add(TokenKind::less, 1);
          }
          break;
        case '>':
          if (next == '=') {
            add(TokenKind::greater_equal, 2);
          } else {
            add(TokenKind::greater, 1);
          }
          break;
        case '=':
          if (next != '=') throw ExpressionError(position, "unexpected '='; compare with '=='");
          add(TokenKind::equal_equal, 2);
          break;
        case '&':
          if (next != '&') throw ExpressionError(position, "unexpected '&'; use '&&' or 'and'");
          add(TokenKind::and_and, 2);
          break;
        case '|':
          if (next != '|') throw ExpressionError(position, "unexpected '|'; use '||' or 'or'");
          add(TokenKind::or_or, 2);
          break;
        default:
          throw ExpressionError(position,
                                "unexpected character " + quoted(text.substr(position, 1)));
      }
    }
  }
  Token end;
  end.kind = TokenKind::end;
  end.offset = text.size();
  tokens.push_back(std::move(end));
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Names and suggestions

std::string_view article_and_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::number:
      return "a number";
    case ValueKind::boolean:
      return "a boolean";
    case ValueKind::string:
      return "a string";
  }
  return "a value";
}

struct FunctionInfo {
  std::string_view name;
  OpCode op;
  int arguments;
};

constexpr std::array<FunctionInfo, 15> kFunctions{{
    {"if", OpCode::select, 3},
    {"heat_index", OpCode::heat_index, 2},
    {"dew_point", OpCode::dew_point, 2},
    {"abs", OpCode::absolute, 1},
    {"min", OpCode::minimum, 2},
    {"max", OpCode::maximum, 2},
    {"clamp", OpCode::clamp, 3},
    {"sqrt", OpCode::square_root, 1},
    {"exp", OpCode::exponential, 1},
    {"log", OpCode::logarithm, 1},
    {"pow", OpCode::power, 2},
    {"round", OpCode::round, 1},
    {"floor", OpCode::floor, 1},
    {"ceil", OpCode::ceil, 1},
    {"now", OpCode::push_now, 0},
}};

std::string suggest_function(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& function : kFunctions) names.emplace_back(function.name);
  return did_you_mean(name, names);
}

/// Finds a field one edit away (or differing only in case) by asking the resolver about every
/// such name: the resolver cannot list its fields, and typos are almost always one edit.
std::string suggest_field(std::string_view name, const FieldResolver& fields) {
  auto known = [&](const std::string& candidate) {
    return candidate != name && fields(candidate).has_value();
  };
  std::string lower(name);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (known(lower)) return lower;
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyz_0123456789.ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string candidate;
  for (std::size_t i = 0; i + 1 < name.size(); ++i) {  // transpositions
    candidate = std::string(name);
    std::swap(candidate[i], candidate[i + 1]);
    if (known(candidate)) return candidate;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {  // deletions
    candidate = std::string(name.substr(0, i)) + std::string(name.substr(i + 1));
    if (known(candidate)) return candidate;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {  // substitutions
    candidate = std::string(name);
    for (char c : kAlphabet) {
      candidate[i] = c;
      if (known(candidate)) return candidate;
    }
  }
  for (std::size_t i = 0; i <= name.size(); ++i) {  // insertions
    for (char c : kAlphabet) {
      candidate = std::string(name.substr(0, i)) + c + std::string(name.substr(i));
      if (known(candidate)) return candidate;
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Parser: builds a typed tree, folding constant sub-expressions as it goes.

struct Node {
  OpCode op = OpCode::push_constant;
  ValueKind kind = ValueKind::number;
  std::size_t offset = 0;  // first character of the sub-expression
  double constant = 0.0;   // push_constant
  int slot = -1;           // loads
  std::array<int, 3> arguments{-1, -1, -1};
};

/// Limits recursion so that absurd nesting is an error instead of a stack overflow.
constexpr int kMaxNesting = 256;

OpCode load_op(DataType type) {
  switch (type) {
    case DataType::int32:
      return OpCode::load_int32;
    case DataType::int64:
      return OpCode::load_int64;
    case DataType::float32:
      return OpCode::load_float32;
    case DataType::float64:
      return OpCode::load_float64;
    case DataType::boolean:
      return OpCode::load_boolean;
    case DataType::string:
      return OpCode::load_string;
    case DataType::timestamp:
      return OpCode::load_timestamp;
  }
  return OpCode::load_float64;
}

ValueKind kind_of(DataType type) {
  if (type == DataType::boolean) return ValueKind::boolean;
  if (type == DataType::string) return ValueKind::string;
  return ValueKind::number;
}

std::string_view verb(OpCode op) {
  switch (op) {
    case OpCode::add:
      return "add";
    case OpCode::subtract:
      return "subtract";
    case OpCode::multiply:
      return "multiply";
    case OpCode::divide:
      return "divide";
    default:
      return "take the remainder of";
  }
}

class Parser {
 public:
  Parser(std::string_view text, const FieldResolver& fields, StringDictionary& strings)
      : tokens_(tokenize(text)), fields_(fields), strings_(strings) {}

  /// Parses the whole text and returns the root node.
  int parse() {
    const int root = parse_or();
    if (peek().kind != TokenKind::end) {
      throw ExpressionError(peek().offset,
                            "unexpected " + describe(peek()) + " after a complete expression");
    }
    return root;
  }

  const std::vector<Node>& nodes() const { return nodes_; }

 private:
  const Token& peek() const { return tokens_[position_]; }
  const Token& take() { return tokens_[position_++]; }

  bool peek_keyword(std::string_view keyword) const {
    return peek().kind == TokenKind::identifier && peek().text == keyword;
  }

  static std::string describe(const Token& token) {
    if (token.kind == TokenKind::end) return "end of expression";
    return quoted(token.text);
  }

  [[noreturn]] void unexpected(const Token& token, std::string_view expected) const {
    if (token.kind == TokenKind::end) {
      throw ExpressionError(token.offset,
                            "unexpected end of expression: expected " + std::string(expected));
    }
    throw ExpressionError(token.offset,
                          "unexpected " + describe(token) + ": expected " + std::string(expected));
  }

  /// Guards one level of recursion.
  class Nesting {
   public:
    explicit Nesting(Parser& parser) : parser_(parser) {
      if (++parser_.nesting_ > kMaxNesting) {
        throw ExpressionError(parser_.peek().offset, "expression nests too deeply (more than " +
                                                         std::to_string(kMaxNesting) + " levels)");
      }
    }
    ~Nesting() { --parser_.nesting_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

   private:
    Parser& parser_;
  };

  int add_node(Node node) {
    nodes_.push_back(node);
    return static_cast<int>(nodes_.size()) - 1;
  }

  int constant(double value, ValueKind kind, std::size_t offset) {
    Node node;
    node.op = OpCode::push_constant;
    node.kind = kind;
    node.offset = offset;
    node.constant = value;
    return add_node(node);
  }

  bool is_constant(int index) const { return nodes_[index].op == OpCode::push_constant; }

  /// Adds an operation node, or its value when every argument is a constant.
  int operation(OpCode op, ValueKind kind, std::size_t offset, std::array<int, 3> arguments) {
    const int count = argument_count(op);
    bool all_constant = op != OpCode::push_now;
    for (int i = 0; i < count; ++i) all_constant = all_constant && is_constant(arguments[i]);
    if (all_constant) {
      const double a = nodes_[arguments[0]].constant;
      double value = 0.0;
      if (count == 1) {
        value = apply_unary(op, a);
      } else if (count == 2) {
        value = apply_binary(op, a, nodes_[arguments[1]].constant);
      } else {
        value = apply_ternary(op, a, nodes_[arguments[1]].constant, nodes_[arguments[2]].constant);
      }
      return constant(value, kind, offset);
    }
    Node node;
    node.op = op;
    node.kind = kind;
    node.offset = offset;
    node.arguments = arguments;
    return add_node(node);
  }

  ValueKind kind(int index) const { return nodes_[index].kind; }

  int parse_or() {
    Nesting nesting(*this);
    int left = parse_and();
    while (peek().kind == TokenKind::or_or || peek_keyword("or")) {
      const Token& op = take();
      const int right = parse_and();
      left = logical(OpCode::logical_or, op, left, right);
    }
    return left;
  }

  int parse_and() {
    int left = parse_equality();
    while (peek().kind == TokenKind::and_and || peek_keyword("and")) {
      const Token& op = take();
      const int right = parse_equality();
      left = logical(OpCode::logical_and, op, left, right);
    }
    return left;
  }

  int logical(OpCode op, const Token& token, int left, int right) {
    for (int side : {left, right}) {
      if (kind(side) != ValueKind::boolean) {
        throw ExpressionError(token.offset, quoted(token.text) + " needs booleans, got " +
                                                std::string(article_and_name(kind(side))));
      }
    }
    return operation(op, ValueKind::boolean, nodes_[left].offset, {left, right, -1});
  }

  int parse_equality() {
    int left = parse_relational();
    while (peek().kind == TokenKind::equal_equal || peek().kind == TokenKind::bang_equal) {
      const Token& op = take();
      const int right = parse_relational();
      if (kind(left) != kind(right)) {
        throw ExpressionError(op.offset, "cannot compare " +
                                             std::string(article_and_name(kind(left))) + " with " +
                                             std::string(article_and_name(kind(right))));
      }
      left = operation(op.kind == TokenKind::equal_equal ? OpCode::equal : OpCode::not_equal,
                       ValueKind::boolean, nodes_[left].offset, {left, right, -1});
    }
    return left;
  }

  int parse_relational() {
    int left = parse_additive();
    for (;;) {
      OpCode op;
      switch (peek().kind) {
        case TokenKind::less:
          op = OpCode::less;
          break;
        case TokenKind::less_equal:
          op = OpCode::less_equal;
          break;
        case TokenKind::greater:
          op = OpCode::greater;
          break;
        case TokenKind::greater_equal:
          op = OpCode::greater_equal;
          break;
        default:
          return left;
      }
      const Token& token = take();
      const int right = parse_additive();
      for (int side : {left, right}) {
        if (kind(side) == ValueKind::string) {
          throw ExpressionError(token.offset, "strings only compare with == and !=");
        }
        if (kind(side) == ValueKind::boolean) {
          throw ExpressionError(token.offset, "cannot order booleans with " + quoted(token.text));
        }
      }
      left = operation(op, ValueKind::boolean, nodes_[left].offset, {left, right, -1});
    }
  }

  int arithmetic(OpCode op, const Token& token, int left, int right) {
    for (int side : {left, right}) {
      if (kind(side) != ValueKind::number) {
        throw ExpressionError(token.offset, "cannot " + std::string(verb(op)) + " " +
                                                std::string(article_and_name(kind(side))));
      }
    }
    return operation(op, ValueKind::number, nodes_[left].offset, {left, right, -1});
  }

  int parse_additive() {
    int left = parse_multiplicative();
    while (peek().kind == TokenKind::plus || peek().kind == TokenKind::minus) {
      const Token& token = take();
      const int right = parse_multiplicative();
      left = arithmetic(token.kind == TokenKind::plus ? OpCode::add : OpCode::subtract, token, left,
                        right);
    }
    return left;
  }

  int parse_multiplicative() {
    int left = parse_unary();
    for (;;) {
      OpCode op;
      switch (peek().kind) {
        case TokenKind::star:
          op = OpCode::multiply;
          break;
        case TokenKind::slash:
          op = OpCode::divide;
          break;
        case TokenKind::percent:
          op = OpCode::remainder;
          break;
        default:
          return left;
      }
      const Token& token = take();
      const int right = parse_unary();
      left = arithmetic(op, token, left, right);
    }
  }

  int parse_unary() {
    Nesting nesting(*this);
    if (peek().kind == TokenKind::minus) {
      const Token& token = take();
      const int operand = parse_unary();
      if (kind(operand) != ValueKind::number) {
        throw ExpressionError(token.offset,
                              "cannot negate " + std::string(article_and_name(kind(operand))));
      }
      return operation(OpCode::negate, ValueKind::number, token.offset, {operand, -1, -1});
    }
    if (peek().kind == TokenKind::bang || peek_keyword("not")) {
      const Token& token = take();
      const int operand = parse_unary();
      if (kind(operand) != ValueKind::boolean) {
        throw ExpressionError(token.offset, quoted(token.text) + " needs a boolean, got " +
                                                std::string(article_and_name(kind(operand))));
      }
      return operation(OpCode::logical_not, ValueKind::boolean, token.offset, {operand, -1, -1});
    }
    return parse_primary();
  }

  int parse_primary() {
    const Token& token = take();
    switch (token.kind) {
      case TokenKind::number:
        return constant(token.number, ValueKind::number, token.offset);
      case TokenKind::string:
        return constant(strings_.intern(token.string_value), ValueKind::string, token.offset);
      case TokenKind::left_paren: {
        const int inner = parse_or();
        if (peek().kind != TokenKind::right_paren) unexpected(peek(), "')'");
        take();
        return inner;
      }
      case TokenKind::identifier:
        return parse_identifier(token);
      default:
        unexpected(token, "a value, a field, a function call or '('");
    }
  }

  int parse_identifier(const Token& token) {
    if (token.text == "true" || token.text == "false") {
      return constant(token.text == "true" ? 1.0 : 0.0, ValueKind::boolean, token.offset);
    }
    if (token.text == "and" || token.text == "or" || token.text == "not") {
      unexpected(token, "a value, a field, a function call or '('");
    }
    if (peek().kind == TokenKind::left_paren) return parse_call(token);
    const std::optional<ExpressionField> field = fields_(token.text);
    if (!field) {
      std::string message = "unknown field " + quoted(token.text);
      const auto function = std::find_if(kFunctions.begin(), kFunctions.end(),
                                         [&](const auto& f) { return f.name == token.text; });
      if (function != kFunctions.end()) {
        message += " (" + std::string(token.text) + " is a function: write " +
                   std::string(token.text) + "(...))";
      } else if (const std::string suggestion = suggest_field(token.text, fields_);
                 !suggestion.empty()) {
        message += " (did you mean " + quoted(suggestion) + "?)";
      }
      throw ExpressionError(token.offset, message);
    }
    LDH_EXPECTS(field->slot >= 0, "field resolver returned a negative slot");
    Node node;
    node.op = load_op(field->type);
    node.kind = kind_of(field->type);
    node.offset = token.offset;
    node.slot = field->slot;
    return add_node(node);
  }

  int parse_call(const Token& name) {
    const auto function = std::find_if(kFunctions.begin(), kFunctions.end(),
                                       [&](const auto& f) { return f.name == name.text; });
    if (function == kFunctions.end()) {
      std::string message = "unknown function " + quoted(name.text);
      throw ExpressionError(name.offset, message + suggest_function(name.text));
    }
    take();  // '('
    std::vector<int> arguments;
    if (peek().kind != TokenKind::right_paren) {
      for (;;) {
        arguments.push_back(parse_or());
        if (peek().kind == TokenKind::comma) {
          take();
          continue;
        }
        if (peek().kind != TokenKind::right_paren) unexpected(peek(), "',' or ')'");
        break;
      }
    }
    take();  // ')'
    const int expected = function->arguments;
    if (static_cast<int>(arguments.size()) != expected) {
      throw ExpressionError(name.offset, std::string(function->name) + "() takes " +
                                             std::to_string(expected) +
                                             (expected == 1 ? " argument" : " arguments") +
                                             ", got " + std::to_string(arguments.size()));
    }
    std::array<int, 3> slots{-1, -1, -1};
    std::copy(arguments.begin(), arguments.end(), slots.begin());
    if (function->op == OpCode::select) {
      if (kind(slots[0]) == ValueKind::string) {
        throw ExpressionError(nodes_[slots[0]].offset,
                              "the condition of if() must be a boolean or a number, got a string");
      }
      if (kind(slots[1]) != kind(slots[2])) {
        throw ExpressionError(
            nodes_[slots[2]].offset,
            "the branches of if() differ: " + std::string(article_and_name(kind(slots[1]))) +
                " and " + std::string(article_and_name(kind(slots[2]))));
      }
      return operation(OpCode::select, kind(slots[1]), name.offset, slots);
    }
    for (std::size_t i = 0; i < arguments.size(); ++i) {
      if (kind(arguments[i]) != ValueKind::number) {
        throw ExpressionError(nodes_[arguments[i]].offset,
                              "argument " + std::to_string(i + 1) + " of " +
                                  std::string(function->name) + "() must be a number, got " +
                                  std::string(article_and_name(kind(arguments[i]))));
      }
    }
    return operation(function->op, ValueKind::number, name.offset, slots);
  }

  std::vector<Token> tokens_;
  std::size_t position_ = 0;
  int nesting_ = 0;
  const FieldResolver& fields_;
  StringDictionary& strings_;
  std::vector<Node> nodes_;
};

/// Emits postfix code for a tree and returns the stack depth the sub-tree needs.
class CodeGenerator {
 public:
  CodeGenerator(const std::vector<Node>& nodes, CompiledExpression& out)
      : nodes_(nodes), out_(out) {}

  int emit(int index) {
    const Node& node = nodes_[index];
    int depth = 1;
    const int count = argument_count(node.op);
    for (int i = 0; i < count; ++i) depth = std::max(depth, i + emit(node.arguments[i]));
    if (depth > kMaxStackDepth) {
      throw ExpressionError(node.offset, "expression needs more than " +
                                             std::to_string(kMaxStackDepth) +
                                             " stack values; simplify or reorder it");
    }
    std::int32_t operand = 0;
    if (node.op == OpCode::push_constant) {
      operand = constant_index(node.constant);
    } else if (count == 0 && node.op != OpCode::push_now) {
      operand = node.slot;
      if (std::find(out_.input_slots.begin(), out_.input_slots.end(), node.slot) ==
          out_.input_slots.end()) {
        out_.input_slots.push_back(node.slot);
      }
    }
    out_.code.push_back({node.op, operand});
    return depth;
  }

 private:
  std::int32_t constant_index(double value) {
    for (std::size_t i = 0; i < out_.constants.size(); ++i) {
      if (math::to_bits(out_.constants[i]) == math::to_bits(value)) {
        return static_cast<std::int32_t>(i);
      }
    }
    out_.constants.push_back(value);
    return static_cast<std::int32_t>(out_.constants.size() - 1);
  }

  const std::vector<Node>& nodes_;
  CompiledExpression& out_;
};

// ---------------------------------------------------------------------------------------------
// Column-at-a-time evaluation: each instruction runs as a tight loop over a chunk of rows and
// calls the same scalar functions as run_program, so the results are bit for bit the same.

/// Rows per chunk: a few registers of this many doubles stay in the L1 cache.
constexpr std::size_t kChunkRows = 512;

/// One stack entry for a chunk: a vector of values, or one value for every row.
struct Register {
  const double* values = nullptr;  // nullptr: every row has `scalar`
  double scalar = 0.0;
};

// Compiles each loop for AVX-512, AVX2 and baseline x86-64 and picks one when the program loads.
// The wider clones add lanes and three-operand instructions but not FMA (contraction is off), so
// every clone computes the same bits; the tests compare them with run_program.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LDH_LOOP_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LDH_LOOP_CLONES
#endif

using LoadLoop = void (*)(const void* data, std::size_t begin, std::size_t rows, double* out);
using UnaryLoop = void (*)(const double* x, std::size_t rows, double* out);
using BinaryLoop = void (*)(const double* a, const double* b, std::size_t rows, double* out);
using BinaryScalarLoop = void (*)(const double* a, double b, std::size_t rows, double* out);
using TernaryLoop = void (*)(const double* a, const double* b, const double* c, std::size_t rows,
                             double* out);
using TernaryScalarLoop = void (*)(const double* a, double b, double c, std::size_t rows,
                                   double* out);

template <OpCode op>
LDH_LOOP_CLONES void load_loop(const void* data, std::size_t begin, std::size_t rows, double* out) {
  for (std::size_t i = 0; i < rows; ++i) out[i] = load_field(op, data, begin + i);
}

template <OpCode op>
LDH_LOOP_CLONES void unary_loop(const double* x, std::size_t rows, double* out) {
  for (std::size_t i = 0; i < rows; ++i) out[i] = apply_unary(op, x[i]);
}

template <OpCode op>
LDH_LOOP_CLONES void binary_loop(const double* a, const double* b, std::size_t rows, double* out) {
  for (std::size_t i = 0; i < rows; ++i) out[i] = apply_binary(op, a[i], b[i]);
}

/// The vector-scalar form, for the common `field op constant`.
template <OpCode op>
LDH_LOOP_CLONES void binary_right_scalar_loop(const double* a, double b, std::size_t rows,
                                              double* out) {
  for (std::size_t i = 0; i < rows; ++i) out[i] = apply_binary(op, a[i], b);
}

template <OpCode op>
LDH_LOOP_CLONES void binary_left_scalar_loop(const double* b, double a, std::size_t rows,
                                             double* out) {
  for (std::size_t i = 0; i < rows; ++i) out[i] = apply_binary(op, a, b[i]);
}

template <OpCode op>
LDH_LOOP_CLONES void ternary_loop(const double* a, const double* b, const double* c,
                                  std::size_t rows, double* out) {
  for (std::size_t i = 0; i < rows; ++i) out[i] = apply_ternary(op, a[i], b[i], c[i]);
}

/// The form with the last two arguments constant, as in clamp(x, 0, 100) or if(c, 1, 0).
template <OpCode op>
LDH_LOOP_CLONES void ternary_scalar_loop(const double* a, double b, double c, std::size_t rows,
                                         double* out) {
  for (std::size_t i = 0; i < rows; ++i) out[i] = apply_ternary(op, a[i], b, c);
}

/// Builds a table, indexed by opcode, of one loop template instantiated for opcodes first..last.
template <typename Loop, OpCode first, template <OpCode> class Maker, std::size_t... offsets>
constexpr std::array<Loop, kOpCodeCount> make_table(std::index_sequence<offsets...>) {
  std::array<Loop, kOpCodeCount> table{};
  ((table[static_cast<std::size_t>(first) + offsets] =
        Maker<static_cast<OpCode>(static_cast<int>(first) + static_cast<int>(offsets))>::loop),
   ...);
  return table;
}

template <OpCode first, OpCode last>
constexpr auto range() {
  return std::make_index_sequence<static_cast<std::size_t>(last) - static_cast<std::size_t>(first) +
                                  1>();
}

template <OpCode op>
struct LoadMaker {
  static constexpr LoadLoop loop = &load_loop<op>;
};
template <OpCode op>
struct UnaryMaker {
  static constexpr UnaryLoop loop = &unary_loop<op>;
};
template <OpCode op>
struct BinaryMaker {
  static constexpr BinaryLoop loop = &binary_loop<op>;
};
template <OpCode op>
struct BinaryRightScalarMaker {
  static constexpr BinaryScalarLoop loop = &binary_right_scalar_loop<op>;
};
template <OpCode op>
struct BinaryLeftScalarMaker {
  static constexpr BinaryScalarLoop loop = &binary_left_scalar_loop<op>;
};
template <OpCode op>
struct TernaryMaker {
  static constexpr TernaryLoop loop = &ternary_loop<op>;
};
template <OpCode op>
struct TernaryScalarMaker {
  static constexpr TernaryScalarLoop loop = &ternary_scalar_loop<op>;
};

constexpr auto kLoadLoops = make_table<LoadLoop, OpCode::load_int32, LoadMaker>(
    range<OpCode::load_int32, OpCode::load_timestamp>());
constexpr auto kUnaryLoops =
    make_table<UnaryLoop, OpCode::negate, UnaryMaker>(range<OpCode::negate, OpCode::ceil>());
constexpr auto kBinaryLoops =
    make_table<BinaryLoop, OpCode::add, BinaryMaker>(range<OpCode::add, OpCode::dew_point>());
constexpr auto kBinaryRightScalarLoops =
    make_table<BinaryScalarLoop, OpCode::add, BinaryRightScalarMaker>(
        range<OpCode::add, OpCode::dew_point>());
constexpr auto kBinaryLeftScalarLoops =
    make_table<BinaryScalarLoop, OpCode::add, BinaryLeftScalarMaker>(
        range<OpCode::add, OpCode::dew_point>());
constexpr auto kTernaryLoops =
    make_table<TernaryLoop, OpCode::select, TernaryMaker>(range<OpCode::select, OpCode::clamp>());
constexpr auto kTernaryScalarLoops =
    make_table<TernaryScalarLoop, OpCode::select, TernaryScalarMaker>(
        range<OpCode::select, OpCode::clamp>());

/// Runs the program over rows [begin, begin + rows) and returns the register holding the result.
Register evaluate_chunk(const CompiledExpression& expression, const EventBatchView& batch,
                        double now_ms, std::size_t begin, std::size_t rows, double* scratch) {
  Register stack[kMaxStackDepth];
  int top = 0;
  auto level = [&](int index) { return scratch + static_cast<std::size_t>(index) * kChunkRows; };
  // Gives a scalar register its own vector so that a loop can read it.
  auto materialize = [&](int index) {
    if (stack[index].values != nullptr) return;
    double* values = level(index);
    std::fill(values, values + rows, stack[index].scalar);
    stack[index].values = values;
  };
  for (const Instruction& instruction : expression.code) {
    const auto op_index = static_cast<std::size_t>(instruction.op);
    switch (argument_count(instruction.op)) {
      case 0: {
        Register& target = stack[top];
        if (instruction.op == OpCode::push_constant) {
          target = {nullptr, expression.constants[instruction.operand]};
        } else if (instruction.op == OpCode::push_now) {
          target = {nullptr, now_ms};
        } else if (instruction.op == OpCode::load_float64) {
          target = {static_cast<const double*>(batch.columns[instruction.operand].data) + begin,
                    0.0};
        } else {
          kLoadLoops[op_index](batch.columns[instruction.operand].data, begin, rows, level(top));
          target = {level(top), 0.0};
        }
        ++top;
        break;
      }
      case 1: {
        Register& x = stack[top - 1];
        if (x.values == nullptr) {
          x.scalar = apply_unary(instruction.op, x.scalar);
        } else {
          kUnaryLoops[op_index](x.values, rows, level(top - 1));
          x.values = level(top - 1);
        }
        break;
      }
      case 2: {
        Register& a = stack[top - 2];
        const Register& b = stack[top - 1];
        double* out = level(top - 2);
        if (a.values == nullptr && b.values == nullptr) {
          a.scalar = apply_binary(instruction.op, a.scalar, b.scalar);
        } else if (b.values == nullptr) {
          kBinaryRightScalarLoops[op_index](a.values, b.scalar, rows, out);
          a.values = out;
        } else if (a.values == nullptr) {
          kBinaryLeftScalarLoops[op_index](b.values, a.scalar, rows, out);
          a.values = out;
        } else {
          kBinaryLoops[op_index](a.values, b.values, rows, out);
          a.values = out;
        }
        --top;
        break;
      }
      default: {
        Register& a = stack[top - 3];
        const Register& b = stack[top - 2];
        const Register& c = stack[top - 1];
        double* out = level(top - 3);
        if (a.values == nullptr && b.values == nullptr && c.values == nullptr) {
          a.scalar = apply_ternary(instruction.op, a.scalar, b.scalar, c.scalar);
        } else if (a.values != nullptr && b.values == nullptr && c.values == nullptr) {
          kTernaryScalarLoops[op_index](a.values, b.scalar, c.scalar, rows, out);
          a.values = out;
        } else {
          materialize(top - 3);
          materialize(top - 2);
          materialize(top - 1);
          kTernaryLoops[op_index](a.values, b.values, c.values, rows, out);
          a.values = out;
        }
        top -= 2;
        break;
      }
    }
  }
  return stack[0];
}

}  // namespace

CompiledExpression compile_expression(std::string_view text, const FieldResolver& fields,
                                      StringDictionary& strings) {
  Parser parser(text, fields, strings);
  const int root = parser.parse();
  CompiledExpression compiled;
  compiled.text = std::string(text);
  compiled.result = parser.nodes()[root].kind;
  CodeGenerator generator(parser.nodes(), compiled);
  compiled.stack_depth = generator.emit(root);
  std::sort(compiled.input_slots.begin(), compiled.input_slots.end());
  return compiled;
}

void evaluate(const CompiledExpression& expression, const EventBatchView& batch, double now_ms,
              double* out, std::uint8_t* valid) {
  LDH_EXPECTS(!expression.code.empty(), "evaluating an empty program");
  LDH_EXPECTS(expression.stack_depth >= 1 && expression.stack_depth <= kMaxStackDepth,
              "program stack depth out of range");
  for (const Instruction& instruction : expression.code) {
    if (argument_count(instruction.op) != 0 || instruction.op == OpCode::push_constant ||
        instruction.op == OpCode::push_now) {
      continue;
    }
    LDH_EXPECTS(instruction.operand >= 0 &&
                    static_cast<std::size_t>(instruction.operand) < batch.columns.size(),
                "expression reads a slot the batch lacks");
    LDH_EXPECTS(load_op(batch.columns[instruction.operand].type) == instruction.op,
                "expression compiled for another column type");
  }
  std::vector<const std::uint8_t*> validities;
  for (int slot : expression.input_slots) {
    if (batch.columns[slot].validity != nullptr) validities.push_back(batch.columns[slot].validity);
  }

  thread_local std::vector<double> scratch;
  const std::size_t scratch_size = static_cast<std::size_t>(expression.stack_depth) * kChunkRows;
  if (scratch.size() < scratch_size) scratch.resize(scratch_size);

  for (std::size_t begin = 0; begin < batch.size; begin += kChunkRows) {
    const std::size_t rows = std::min(kChunkRows, batch.size - begin);
    const Register result = evaluate_chunk(expression, batch, now_ms, begin, rows, scratch.data());
    double* target = out + begin;
    if (result.values == nullptr) {
      std::fill(target, target + rows, math::canonical(result.scalar));
    } else {
      for (std::size_t i = 0; i < rows; ++i) target[i] = math::canonical(result.values[i]);
    }
    if (valid == nullptr) continue;
    std::uint8_t* flags = valid + begin;
    std::fill(flags, flags + rows, std::uint8_t{1});
    for (const std::uint8_t* validity : validities) {
      for (std::size_t i = 0; i < rows; ++i) {
        flags[i] = static_cast<std::uint8_t>(flags[i] & (validity[begin + i] != 0));
      }
    }
  }
}

}  // namespace ldh
