// The verifier's terms: a small layer over Z3's C API, in the manner of
// Alive2's smt/expr.h. Everything outside src/verify/smt builds formulas
// through these types and never includes a Z3 header.
//
// Every handle (Sort, Expr, FuncDecl, Model) holds one Z3 reference to what
// it names and gives it back when it is destroyed or overwritten, so a term
// lives exactly as long as something uses it. Each Z3 call is checked: an
// error Z3 records on the context (a sort mismatch, running out of memory)
// is thrown as smt::Exception, and so is a context Z3 could not create.
//
// The operators build the same Z3 terms as z3++'s do: on bit-vectors `<`,
// `<=`, `>`, `>=` are signed (ult/ule/ugt/uge are the unsigned ones), `&`
// and `|` on Booleans are `&&` and `||`, and an int operand is a numeral of
// the other operand's sort.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

// Z3's opaque handle types, declared exactly as z3_api.h declares them, so
// that this header does not need z3.h.
typedef struct _Z3_context* Z3_context;
typedef struct _Z3_ast* Z3_ast;
typedef struct _Z3_sort* Z3_sort;
typedef struct _Z3_func_decl* Z3_func_decl;
typedef struct _Z3_model* Z3_model;
typedef struct _Z3_ast_vector* Z3_ast_vector;

namespace loom::verify::smt {

// A Z3 error, or a context Z3 could not create.
class Exception : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Context;
class Sort;
class Expr;
class FuncDecl;
template <typename T>
class AstVector;
using ExprVector = AstVector<Expr>;
using SortVector = AstVector<Sort>;

// The operators the verifier looks for when it takes a term apart.
enum class Op {
  BvAdd,
  BvSub,
  BvNeg,
  BvMul,
  BvShl,
  Store,
  Uninterpreted,  // a constant or function symbol of the formula's own
  Other,
};

// One Z3 context with reference counting; never shared across threads.
class Context {
 public:
  Context();
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Z3_context raw() const { return ctx_; }
  // Throws the error of the last Z3 call on this context, if it failed.
  void check() const;
  // Stops whatever Z3 is doing on this context; safe from another thread.
  void interrupt();

  Sort boolSort();
  Sort bvSort(unsigned width);
  Sort arraySort(const Sort& domain, const Sort& range);
  Sort fpSort(unsigned ebits, unsigned sbits);

  Expr boolVal(bool b);
  Expr bvVal(int value, unsigned width);
  Expr bvVal(unsigned value, unsigned width);
  Expr bvVal(std::int64_t value, unsigned width);
  Expr bvVal(std::uint64_t value, unsigned width);
  // The numeral `value` of a bit-vector sort.
  Expr numVal(int value, const Sort& sort);

  Expr constant(const std::string& name, const Sort& sort);
  Expr bvConst(const std::string& name, unsigned width);
  FuncDecl function(const std::string& name, const SortVector& domain, const Sort& range);

 private:
  Z3_context ctx_;
};

// A counted reference to a Z3 term; the base of sorts, expressions and
// function declarations.
class Ast {
 public:
  Ast() = default;
  // Takes its own reference to `ast` (which must be non-null).
  Ast(Context& c, Z3_ast ast);
  Ast(const Ast& other);
  Ast(Ast&& other) noexcept : ctx_(other.ctx_), ast_(other.ast_) { other.ast_ = nullptr; }
  Ast& operator=(const Ast& other);
  Ast& operator=(Ast&& other) noexcept;
  ~Ast();

  Context& ctx() const { return *ctx_; }
  Z3_ast rawAst() const { return ast_; }
  bool isNull() const { return ast_ == nullptr; }
  // Z3's unique id of the term (equal ids: the same term).
  unsigned id() const;
  std::string toString() const;

 protected:
  void release() noexcept;

  Context* ctx_ = nullptr;
  Z3_ast ast_ = nullptr;
};

class Sort : public Ast {
 public:
  Sort() = default;
  Sort(Context& c, Z3_sort sort);
  Z3_sort raw() const { return reinterpret_cast<Z3_sort>(ast_); }

  bool isBool() const;
  bool isBv() const;
  bool isArray() const;
  bool isFp() const;
  unsigned bvSize() const;
  unsigned fpEbits() const;
  Sort arrayDomain() const;
  Sort arrayRange() const;
};

class FuncDecl : public Ast {
 public:
  FuncDecl() = default;
  FuncDecl(Context& c, Z3_func_decl decl);
  Z3_func_decl raw() const { return reinterpret_cast<Z3_func_decl>(ast_); }

  Op op() const;
  std::string name() const;
  unsigned arity() const;
  Expr operator()(const Expr& a) const;
  Expr operator()(const Expr& a, const Expr& b) const;
  Expr operator()(const std::vector<Expr>& args) const;
};

class Expr : public Ast {
 public:
  Expr() = default;
  Expr(Context& c, Z3_ast ast) : Ast(c, ast) {}
  Z3_ast raw() const { return ast_; }

  Sort sort() const;
  bool isBool() const;
  bool isBv() const;
  bool isArray() const;
  unsigned bvSize() const;

  bool isNumeral() const;
  bool isApp() const;  // an application, numerals included
  bool isTrue() const;
  bool isFalse() const;
  // The value of a numeral of up to 64 bits; false if it is none.
  bool getUint64(std::uint64_t& value) const;

  FuncDecl decl() const;
  Op op() const { return decl().op(); }
  unsigned numArgs() const;
  Expr arg(unsigned i) const;

  Expr extract(unsigned hi, unsigned lo) const;
  Expr simplify() const;
  // Replaces every occurrence of from[i] with to[i].
  Expr substitute(const ExprVector& from, const ExprVector& to) const;
};

// A list of terms held by Z3 itself (a Z3 ast_vector): Z3 keeps the
// terms, and the list, alive exactly as it does for z3++'s vectors, so the
// terms a check builds are released, and their ids reused, as before.
template <typename T>
class AstVector {
 public:
  explicit AstVector(Context& c);
  AstVector(const AstVector&) = delete;
  AstVector& operator=(const AstVector&) = delete;
  ~AstVector();

  Context& ctx() const { return *ctx_; }
  Z3_ast_vector raw() const { return vector_; }
  void push_back(const T& e);
  unsigned size() const;
  T operator[](unsigned i) const;

 private:
  Context* ctx_;
  Z3_ast_vector vector_;
};

// A counted reference to a Z3 model.
class Model {
 public:
  Model(Context& c, Z3_model model);
  Model(const Model& other);
  Model(Model&& other) noexcept : ctx_(other.ctx_), model_(other.model_) { other.model_ = nullptr; }
  Model& operator=(const Model& other);
  Model& operator=(Model&& other) noexcept;
  ~Model();

  Context& ctx() const { return *ctx_; }
  Z3_model raw() const { return model_; }
  // The value of `e`; with model completion, free symbols get a value too.
  Expr eval(const Expr& e, bool complete) const;

 private:
  void release() noexcept;

  Context* ctx_;
  Z3_model model_;
};

// The same term or sort (Z3 terms are hash-consed: equal structure, equal
// term).
bool sameTerm(const Ast& a, const Ast& b);

Expr operator!(const Expr& a);
Expr operator&&(const Expr& a, const Expr& b);
Expr operator&&(const Expr& a, bool b);
Expr operator&&(bool a, const Expr& b);
Expr operator||(const Expr& a, const Expr& b);
Expr operator||(const Expr& a, bool b);
Expr operator||(bool a, const Expr& b);
Expr implies(const Expr& a, const Expr& b);
Expr ite(const Expr& c, const Expr& t, const Expr& e);

Expr operator==(const Expr& a, const Expr& b);
Expr operator==(const Expr& a, int b);
Expr operator==(int a, const Expr& b);
Expr operator!=(const Expr& a, const Expr& b);
Expr operator!=(const Expr& a, int b);
Expr operator!=(int a, const Expr& b);

Expr operator+(const Expr& a, const Expr& b);
Expr operator+(const Expr& a, int b);
Expr operator+(int a, const Expr& b);
Expr operator-(const Expr& a, const Expr& b);
Expr operator-(const Expr& a, int b);
Expr operator-(int a, const Expr& b);
Expr operator-(const Expr& a);
Expr operator*(const Expr& a, const Expr& b);
Expr operator*(const Expr& a, int b);
Expr operator*(int a, const Expr& b);
Expr operator/(const Expr& a, const Expr& b);  // signed division
Expr operator&(const Expr& a, const Expr& b);
Expr operator&(const Expr& a, int b);
Expr operator&(int a, const Expr& b);
Expr operator|(const Expr& a, const Expr& b);
Expr operator|(const Expr& a, int b);
Expr operator|(int a, const Expr& b);
Expr operator^(const Expr& a, const Expr& b);
Expr operator^(const Expr& a, int b);
Expr operator^(int a, const Expr& b);
Expr operator~(const Expr& a);

// Signed comparisons of bit-vectors.
Expr operator<(const Expr& a, const Expr& b);
Expr operator<(const Expr& a, int b);
Expr operator<=(const Expr& a, const Expr& b);
Expr operator<=(const Expr& a, int b);
Expr operator>(const Expr& a, const Expr& b);
Expr operator>(const Expr& a, int b);
Expr operator>=(const Expr& a, const Expr& b);
Expr operator>=(const Expr& a, int b);
// Unsigned comparisons.
Expr ult(const Expr& a, const Expr& b);
Expr ult(const Expr& a, int b);
Expr ule(const Expr& a, const Expr& b);
Expr ule(const Expr& a, int b);
Expr ugt(const Expr& a, const Expr& b);
Expr ugt(const Expr& a, int b);
Expr uge(const Expr& a, const Expr& b);
Expr uge(const Expr& a, int b);

Expr udiv(const Expr& a, const Expr& b);
Expr urem(const Expr& a, const Expr& b);
Expr srem(const Expr& a, const Expr& b);
// Shift counts are taken as they are (no modulo): WebAssembly's masking is
// in bitvector.hpp.
Expr shl(const Expr& a, const Expr& b);
Expr shl(const Expr& a, int b);
Expr lshr(const Expr& a, const Expr& b);
Expr lshr(const Expr& a, int b);
Expr ashr(const Expr& a, const Expr& b);
Expr ashr(const Expr& a, int b);

Expr concat(const Expr& hi, const Expr& lo);
Expr zext(const Expr& a, unsigned extra_bits);
Expr sext(const Expr& a, unsigned extra_bits);

Expr select(const Expr& array, const Expr& index);
Expr store(const Expr& array, const Expr& index, const Expr& value);
Expr constArray(const Sort& domain, const Expr& value);
// The array that maps `x` to `body` (x a constant `body` mentions).
Expr lambda(const Expr& x, const Expr& body);

// The uninterpreted constants the terms mention (outside quantifiers and
// lambdas), each once, in the order of a depth-first walk from the last root.
std::vector<Expr> uninterpretedConstants(const std::vector<Expr>& roots);

// Z3 global parameter memory_max_size: past it Z3 gives up (an unknown
// verdict) instead of failing inside an allocation.
void setMemoryLimit(int megabytes);
// Z3's full version, as it reports it.
std::string version();

}  // namespace loom::verify::smt
