#include "src/verify/smt/expr.hpp"

#include <z3.h>

#include <type_traits>
#include <unordered_set>

namespace loom::verify::smt {

namespace {

// Checks the call that made `r`, then takes a reference to it.
Expr make(Context& c, Z3_ast r) {
  c.check();
  return Expr(c, r);
}

Z3_sort_kind sortKind(Z3_context c, Z3_ast a) {
  return Z3_get_sort_kind(c, Z3_get_sort(c, a));
}

Expr binary(Z3_ast (*mk)(Z3_context, Z3_ast, Z3_ast), const Expr& a, const Expr& b) {
  Context& c = a.ctx();
  return make(c, mk(c.raw(), a.raw(), b.raw()));
}

Expr bvOnly(Z3_ast (*mk)(Z3_context, Z3_ast, Z3_ast), const Expr& a, const Expr& b,
            const char* what) {
  if (!a.isBv() || !b.isBv()) throw Exception(std::string(what) + " needs two bit-vectors");
  return binary(mk, a, b);
}

}  // namespace

// Context

Context::Context() {
  Z3_config config = Z3_mk_config();
  ctx_ = Z3_mk_context_rc(config);
  Z3_del_config(config);
  // Null once Z3's memory limit (memory_max_size) is reached.
  if (!ctx_) throw Exception("Z3 could not create a context: out of memory");
  // No handler: Z3 records each error on the context, and check() throws it.
  Z3_set_error_handler(ctx_, nullptr);
  Z3_set_ast_print_mode(ctx_, Z3_PRINT_SMTLIB2_COMPLIANT);
}

Context::~Context() {
  Z3_del_context(ctx_);
}

void Context::check() const {
  const Z3_error_code e = Z3_get_error_code(ctx_);
  if (e != Z3_OK) throw Exception(Z3_get_error_msg(ctx_, e));
}

void Context::interrupt() {
  Z3_interrupt(ctx_);
}

Sort Context::boolSort() {
  Z3_sort s = Z3_mk_bool_sort(ctx_);
  check();
  return Sort(*this, s);
}

Sort Context::bvSort(unsigned width) {
  Z3_sort s = Z3_mk_bv_sort(ctx_, width);
  check();
  return Sort(*this, s);
}

Sort Context::arraySort(const Sort& domain, const Sort& range) {
  Z3_sort s = Z3_mk_array_sort(ctx_, domain.raw(), range.raw());
  check();
  return Sort(*this, s);
}

Sort Context::fpSort(unsigned ebits, unsigned sbits) {
  Z3_sort s = Z3_mk_fpa_sort(ctx_, ebits, sbits);
  check();
  return Sort(*this, s);
}

Expr Context::boolVal(bool b) {
  return make(*this, b ? Z3_mk_true(ctx_) : Z3_mk_false(ctx_));
}

Expr Context::bvVal(int value, unsigned width) {
  return make(*this, Z3_mk_int(ctx_, value, bvSort(width).raw()));
}
Expr Context::bvVal(unsigned value, unsigned width) {
  return make(*this, Z3_mk_unsigned_int(ctx_, value, bvSort(width).raw()));
}
Expr Context::bvVal(std::int64_t value, unsigned width) {
  return make(*this, Z3_mk_int64(ctx_, value, bvSort(width).raw()));
}
Expr Context::bvVal(std::uint64_t value, unsigned width) {
  return make(*this, Z3_mk_unsigned_int64(ctx_, value, bvSort(width).raw()));
}

Expr Context::numVal(int value, const Sort& sort) {
  return make(*this, Z3_mk_int(ctx_, value, sort.raw()));
}

Expr Context::constant(const std::string& name, const Sort& sort) {
  Z3_symbol symbol = Z3_mk_string_symbol(ctx_, name.c_str());
  return make(*this, Z3_mk_const(ctx_, symbol, sort.raw()));
}

Expr Context::bvConst(const std::string& name, unsigned width) {
  return constant(name, bvSort(width));
}

FuncDecl Context::function(const std::string& name, const SortVector& domain, const Sort& range) {
  std::vector<Z3_sort> sorts;
  for (unsigned i = 0, n = domain.size(); i < n; ++i) sorts.push_back(domain[i].raw());
  Z3_symbol symbol = Z3_mk_string_symbol(ctx_, name.c_str());
  Z3_func_decl f =
      Z3_mk_func_decl(ctx_, symbol, static_cast<unsigned>(sorts.size()), sorts.data(), range.raw());
  check();
  return FuncDecl(*this, f);
}

// AstVector

template <typename T>
AstVector<T>::AstVector(Context& c) : ctx_(&c), vector_(Z3_mk_ast_vector(c.raw())) {
  c.check();
  Z3_ast_vector_inc_ref(c.raw(), vector_);
}

template <typename T>
AstVector<T>::~AstVector() {
  Z3_ast_vector_dec_ref(ctx_->raw(), vector_);
}

template <typename T>
void AstVector<T>::push_back(const T& e) {
  Z3_ast_vector_push(ctx_->raw(), vector_, e.rawAst());
  ctx_->check();
}

template <typename T>
unsigned AstVector<T>::size() const {
  return Z3_ast_vector_size(ctx_->raw(), vector_);
}

template <typename T>
T AstVector<T>::operator[](unsigned i) const {
  Z3_ast r = Z3_ast_vector_get(ctx_->raw(), vector_, i);
  ctx_->check();
  if constexpr (std::is_same_v<T, Sort>) {
    return Sort(*ctx_, reinterpret_cast<Z3_sort>(r));
  } else {
    return T(*ctx_, r);
  }
}

template class AstVector<Expr>;
template class AstVector<Sort>;

// Ast

Ast::Ast(Context& c, Z3_ast ast) : ctx_(&c), ast_(ast) {
  if (ast_) Z3_inc_ref(c.raw(), ast_);
}

Ast::Ast(const Ast& other) : ctx_(other.ctx_), ast_(other.ast_) {
  if (ast_) Z3_inc_ref(ctx_->raw(), ast_);
}

Ast& Ast::operator=(const Ast& other) {
  if (other.ast_) Z3_inc_ref(other.ctx_->raw(), other.ast_);
  release();
  ctx_ = other.ctx_;
  ast_ = other.ast_;
  return *this;
}

Ast& Ast::operator=(Ast&& other) noexcept {
  if (this != &other) {
    release();  // the term this handle held until now
    ctx_ = other.ctx_;
    ast_ = other.ast_;
    other.ast_ = nullptr;
  }
  return *this;
}

Ast::~Ast() {
  release();
}

void Ast::release() noexcept {
  if (ast_) Z3_dec_ref(ctx_->raw(), ast_);
  ast_ = nullptr;
}

unsigned Ast::id() const {
  const unsigned r = Z3_get_ast_id(ctx_->raw(), ast_);
  ctx_->check();
  return r;
}

std::string Ast::toString() const {
  return Z3_ast_to_string(ctx_->raw(), ast_);
}

// Sort

Sort::Sort(Context& c, Z3_sort sort) : Ast(c, Z3_sort_to_ast(c.raw(), sort)) {}

bool Sort::isBool() const {
  return Z3_get_sort_kind(ctx_->raw(), raw()) == Z3_BOOL_SORT;
}
bool Sort::isBv() const {
  return Z3_get_sort_kind(ctx_->raw(), raw()) == Z3_BV_SORT;
}
bool Sort::isArray() const {
  return Z3_get_sort_kind(ctx_->raw(), raw()) == Z3_ARRAY_SORT;
}
bool Sort::isFp() const {
  return Z3_get_sort_kind(ctx_->raw(), raw()) == Z3_FLOATING_POINT_SORT;
}

unsigned Sort::bvSize() const {
  const unsigned r = Z3_get_bv_sort_size(ctx_->raw(), raw());
  ctx_->check();
  return r;
}

unsigned Sort::fpEbits() const {
  const unsigned r = Z3_fpa_get_ebits(ctx_->raw(), raw());
  ctx_->check();
  return r;
}

Sort Sort::arrayDomain() const {
  Z3_sort s = Z3_get_array_sort_domain(ctx_->raw(), raw());
  ctx_->check();
  return Sort(*ctx_, s);
}

Sort Sort::arrayRange() const {
  Z3_sort s = Z3_get_array_sort_range(ctx_->raw(), raw());
  ctx_->check();
  return Sort(*ctx_, s);
}

// FuncDecl

FuncDecl::FuncDecl(Context& c, Z3_func_decl decl) : Ast(c, Z3_func_decl_to_ast(c.raw(), decl)) {}

Op FuncDecl::op() const {
  switch (Z3_get_decl_kind(ctx_->raw(), raw())) {
    case Z3_OP_BADD:
      return Op::BvAdd;
    case Z3_OP_BSUB:
      return Op::BvSub;
    case Z3_OP_BNEG:
      return Op::BvNeg;
    case Z3_OP_BMUL:
      return Op::BvMul;
    case Z3_OP_BSHL:
      return Op::BvShl;
    case Z3_OP_STORE:
      return Op::Store;
    case Z3_OP_UNINTERPRETED:
      return Op::Uninterpreted;
    default:
      return Op::Other;
  }
}

std::string FuncDecl::name() const {
  Z3_symbol s = Z3_get_decl_name(ctx_->raw(), raw());
  return Z3_get_symbol_string(ctx_->raw(), s);
}

unsigned FuncDecl::arity() const {
  return Z3_get_arity(ctx_->raw(), raw());
}

Expr FuncDecl::operator()(const Expr& a) const {
  Z3_ast args[1] = {a.raw()};
  return make(*ctx_, Z3_mk_app(ctx_->raw(), raw(), 1, args));
}

Expr FuncDecl::operator()(const Expr& a, const Expr& b) const {
  Z3_ast args[2] = {a.raw(), b.raw()};
  return make(*ctx_, Z3_mk_app(ctx_->raw(), raw(), 2, args));
}

Expr FuncDecl::operator()(const std::vector<Expr>& args) const {
  std::vector<Z3_ast> raw_args;
  raw_args.reserve(args.size());
  for (const Expr& a : args) raw_args.push_back(a.raw());
  return make(*ctx_, Z3_mk_app(ctx_->raw(), raw(), static_cast<unsigned>(raw_args.size()),
                               raw_args.data()));
}

// Expr

Sort Expr::sort() const {
  Z3_sort s = Z3_get_sort(ctx_->raw(), ast_);
  ctx_->check();
  return Sort(*ctx_, s);
}

bool Expr::isBool() const {
  return sortKind(ctx_->raw(), ast_) == Z3_BOOL_SORT;
}
bool Expr::isBv() const {
  return sortKind(ctx_->raw(), ast_) == Z3_BV_SORT;
}
bool Expr::isArray() const {
  return sortKind(ctx_->raw(), ast_) == Z3_ARRAY_SORT;
}

unsigned Expr::bvSize() const {
  const unsigned r = Z3_get_bv_sort_size(ctx_->raw(), Z3_get_sort(ctx_->raw(), ast_));
  ctx_->check();
  return r;
}

bool Expr::isNumeral() const {
  return Z3_get_ast_kind(ctx_->raw(), ast_) == Z3_NUMERAL_AST;
}

bool Expr::isApp() const {
  const Z3_ast_kind k = Z3_get_ast_kind(ctx_->raw(), ast_);
  return k == Z3_APP_AST || k == Z3_NUMERAL_AST;
}

bool Expr::isTrue() const {
  return isApp() &&
         Z3_get_decl_kind(ctx_->raw(),
                          Z3_get_app_decl(ctx_->raw(), Z3_to_app(ctx_->raw(), ast_))) == Z3_OP_TRUE;
}

bool Expr::isFalse() const {
  return isApp() && Z3_get_decl_kind(ctx_->raw(),
                                     Z3_get_app_decl(ctx_->raw(), Z3_to_app(ctx_->raw(), ast_))) ==
                        Z3_OP_FALSE;
}

bool Expr::getUint64(std::uint64_t& value) const {
  std::uint64_t v = 0;
  const bool ok = Z3_get_numeral_uint64(ctx_->raw(), ast_, &v);
  if (ok) value = v;
  return ok;
}

FuncDecl Expr::decl() const {
  Z3_func_decl f = Z3_get_app_decl(ctx_->raw(), Z3_to_app(ctx_->raw(), ast_));
  ctx_->check();
  return FuncDecl(*ctx_, f);
}

unsigned Expr::numArgs() const {
  const unsigned n = Z3_get_app_num_args(ctx_->raw(), Z3_to_app(ctx_->raw(), ast_));
  ctx_->check();
  return n;
}

Expr Expr::arg(unsigned i) const {
  return make(*ctx_, Z3_get_app_arg(ctx_->raw(), Z3_to_app(ctx_->raw(), ast_), i));
}

Expr Expr::extract(unsigned hi, unsigned lo) const {
  return make(*ctx_, Z3_mk_extract(ctx_->raw(), hi, lo, ast_));
}

Expr Expr::simplify() const {
  return make(*ctx_, Z3_simplify(ctx_->raw(), ast_));
}

Expr Expr::substitute(const ExprVector& from, const ExprVector& to) const {
  const unsigned n = from.size();
  if (to.size() != n) throw Exception("substitute: lists of different lengths");
  std::vector<Z3_ast> src, dst;
  for (unsigned i = 0; i < n; ++i) {
    src.push_back(from[i].raw());
    dst.push_back(to[i].raw());
  }
  return make(*ctx_, Z3_substitute(ctx_->raw(), ast_, n, src.data(), dst.data()));
}

// Model

Model::Model(Context& c, Z3_model model) : ctx_(&c), model_(model) {
  if (model_) Z3_model_inc_ref(c.raw(), model_);
}

Model::Model(const Model& other) : ctx_(other.ctx_), model_(other.model_) {
  if (model_) Z3_model_inc_ref(ctx_->raw(), model_);
}

Model& Model::operator=(const Model& other) {
  if (other.model_) Z3_model_inc_ref(other.ctx_->raw(), other.model_);
  release();
  ctx_ = other.ctx_;
  model_ = other.model_;
  return *this;
}

Model& Model::operator=(Model&& other) noexcept {
  if (this != &other) {
    release();
    ctx_ = other.ctx_;
    model_ = other.model_;
    other.model_ = nullptr;
  }
  return *this;
}

Model::~Model() {
  release();
}

void Model::release() noexcept {
  if (model_) Z3_model_dec_ref(ctx_->raw(), model_);
  model_ = nullptr;
}

Expr Model::eval(const Expr& e, bool complete) const {
  Z3_ast r = nullptr;
  const bool ok = Z3_model_eval(ctx_->raw(), model_, e.raw(), complete, &r);
  ctx_->check();
  if (!ok) throw Exception("failed to evaluate expression");
  return Expr(*ctx_, r);
}

// Terms

bool sameTerm(const Ast& a, const Ast& b) {
  return Z3_is_eq_ast(a.ctx().raw(), a.rawAst(), b.rawAst());
}

Expr operator!(const Expr& a) {
  return make(a.ctx(), Z3_mk_not(a.ctx().raw(), a.raw()));
}

Expr operator&&(const Expr& a, const Expr& b) {
  Z3_ast args[2] = {a.raw(), b.raw()};
  return make(a.ctx(), Z3_mk_and(a.ctx().raw(), 2, args));
}
Expr operator&&(const Expr& a, bool b) {
  return a && a.ctx().boolVal(b);
}
Expr operator&&(bool a, const Expr& b) {
  return b.ctx().boolVal(a) && b;
}

Expr operator||(const Expr& a, const Expr& b) {
  Z3_ast args[2] = {a.raw(), b.raw()};
  return make(a.ctx(), Z3_mk_or(a.ctx().raw(), 2, args));
}
Expr operator||(const Expr& a, bool b) {
  return a || a.ctx().boolVal(b);
}
Expr operator||(bool a, const Expr& b) {
  return b.ctx().boolVal(a) || b;
}

Expr implies(const Expr& a, const Expr& b) {
  return binary(Z3_mk_implies, a, b);
}

Expr ite(const Expr& c, const Expr& t, const Expr& e) {
  return make(c.ctx(), Z3_mk_ite(c.ctx().raw(), c.raw(), t.raw(), e.raw()));
}

Expr operator==(const Expr& a, const Expr& b) {
  return binary(Z3_mk_eq, a, b);
}
Expr operator==(const Expr& a, int b) {
  return a == a.ctx().numVal(b, a.sort());
}
Expr operator==(int a, const Expr& b) {
  return b.ctx().numVal(a, b.sort()) == b;
}

Expr operator!=(const Expr& a, const Expr& b) {
  Z3_ast args[2] = {a.raw(), b.raw()};
  return make(a.ctx(), Z3_mk_distinct(a.ctx().raw(), 2, args));
}
Expr operator!=(const Expr& a, int b) {
  return a != a.ctx().numVal(b, a.sort());
}
Expr operator!=(int a, const Expr& b) {
  return b.ctx().numVal(a, b.sort()) != b;
}

Expr operator+(const Expr& a, const Expr& b) {
  return bvOnly(Z3_mk_bvadd, a, b, "+");
}
Expr operator+(const Expr& a, int b) {
  return a + a.ctx().numVal(b, a.sort());
}
Expr operator+(int a, const Expr& b) {
  return b.ctx().numVal(a, b.sort()) + b;
}

Expr operator-(const Expr& a, const Expr& b) {
  return bvOnly(Z3_mk_bvsub, a, b, "-");
}
Expr operator-(const Expr& a, int b) {
  return a - a.ctx().numVal(b, a.sort());
}
Expr operator-(int a, const Expr& b) {
  return b.ctx().numVal(a, b.sort()) - b;
}
Expr operator-(const Expr& a) {
  if (!a.isBv()) throw Exception("unary - needs a bit-vector");
  return make(a.ctx(), Z3_mk_bvneg(a.ctx().raw(), a.raw()));
}

Expr operator*(const Expr& a, const Expr& b) {
  return bvOnly(Z3_mk_bvmul, a, b, "*");
}
Expr operator*(const Expr& a, int b) {
  return a * a.ctx().numVal(b, a.sort());
}
Expr operator*(int a, const Expr& b) {
  return b.ctx().numVal(a, b.sort()) * b;
}

Expr operator/(const Expr& a, const Expr& b) {
  return bvOnly(Z3_mk_bvsdiv, a, b, "/");
}

Expr operator&(const Expr& a, const Expr& b) {
  if (a.isBool()) return a && b;
  return binary(Z3_mk_bvand, a, b);
}
Expr operator&(const Expr& a, int b) {
  return a & a.ctx().numVal(b, a.sort());
}
Expr operator&(int a, const Expr& b) {
  return b.ctx().numVal(a, b.sort()) & b;
}

Expr operator|(const Expr& a, const Expr& b) {
  if (a.isBool()) return a || b;
  return binary(Z3_mk_bvor, a, b);
}
Expr operator|(const Expr& a, int b) {
  return a | a.ctx().numVal(b, a.sort());
}
Expr operator|(int a, const Expr& b) {
  return b.ctx().numVal(a, b.sort()) | b;
}

Expr operator^(const Expr& a, const Expr& b) {
  return binary(a.isBool() ? Z3_mk_xor : Z3_mk_bvxor, a, b);
}
Expr operator^(const Expr& a, int b) {
  return a ^ a.ctx().numVal(b, a.sort());
}
Expr operator^(int a, const Expr& b) {
  return b.ctx().numVal(a, b.sort()) ^ b;
}

Expr operator~(const Expr& a) {
  return make(a.ctx(), Z3_mk_bvnot(a.ctx().raw(), a.raw()));
}

Expr operator<(const Expr& a, const Expr& b) {
  return bvOnly(Z3_mk_bvslt, a, b, "<");
}
Expr operator<(const Expr& a, int b) {
  return a < a.ctx().numVal(b, a.sort());
}
Expr operator<=(const Expr& a, const Expr& b) {
  return bvOnly(Z3_mk_bvsle, a, b, "<=");
}
Expr operator<=(const Expr& a, int b) {
  return a <= a.ctx().numVal(b, a.sort());
}
Expr operator>(const Expr& a, const Expr& b) {
  return bvOnly(Z3_mk_bvsgt, a, b, ">");
}
Expr operator>(const Expr& a, int b) {
  return a > a.ctx().numVal(b, a.sort());
}
Expr operator>=(const Expr& a, const Expr& b) {
  return bvOnly(Z3_mk_bvsge, a, b, ">=");
}
Expr operator>=(const Expr& a, int b) {
  return a >= a.ctx().numVal(b, a.sort());
}

Expr ult(const Expr& a, const Expr& b) {
  return binary(Z3_mk_bvult, a, b);
}
Expr ult(const Expr& a, int b) {
  return ult(a, a.ctx().numVal(b, a.sort()));
}
Expr ule(const Expr& a, const Expr& b) {
  return binary(Z3_mk_bvule, a, b);
}
Expr ule(const Expr& a, int b) {
  return ule(a, a.ctx().numVal(b, a.sort()));
}
Expr ugt(const Expr& a, const Expr& b) {
  return binary(Z3_mk_bvugt, a, b);
}
Expr ugt(const Expr& a, int b) {
  return ugt(a, a.ctx().numVal(b, a.sort()));
}
Expr uge(const Expr& a, const Expr& b) {
  return binary(Z3_mk_bvuge, a, b);
}
Expr uge(const Expr& a, int b) {
  return uge(a, a.ctx().numVal(b, a.sort()));
}

Expr udiv(const Expr& a, const Expr& b) {
  return binary(Z3_mk_bvudiv, a, b);
}
Expr urem(const Expr& a, const Expr& b) {
  return binary(Z3_mk_bvurem, a, b);
}
Expr srem(const Expr& a, const Expr& b) {
  return binary(Z3_mk_bvsrem, a, b);
}

Expr shl(const Expr& a, const Expr& b) {
  return binary(Z3_mk_bvshl, a, b);
}
Expr shl(const Expr& a, int b) {
  return shl(a, a.ctx().numVal(b, a.sort()));
}
Expr lshr(const Expr& a, const Expr& b) {
  return binary(Z3_mk_bvlshr, a, b);
}
Expr lshr(const Expr& a, int b) {
  return lshr(a, a.ctx().numVal(b, a.sort()));
}
Expr ashr(const Expr& a, const Expr& b) {
  return binary(Z3_mk_bvashr, a, b);
}
Expr ashr(const Expr& a, int b) {
  return ashr(a, a.ctx().numVal(b, a.sort()));
}

Expr concat(const Expr& hi, const Expr& lo) {
  return binary(Z3_mk_concat, hi, lo);
}

Expr zext(const Expr& a, unsigned extra_bits) {
  return make(a.ctx(), Z3_mk_zero_ext(a.ctx().raw(), extra_bits, a.raw()));
}

Expr sext(const Expr& a, unsigned extra_bits) {
  return make(a.ctx(), Z3_mk_sign_ext(a.ctx().raw(), extra_bits, a.raw()));
}

Expr select(const Expr& array, const Expr& index) {
  return binary(Z3_mk_select, array, index);
}

Expr store(const Expr& array, const Expr& index, const Expr& value) {
  return make(array.ctx(), Z3_mk_store(array.ctx().raw(), array.raw(), index.raw(), value.raw()));
}

Expr constArray(const Sort& domain, const Expr& value) {
  return make(value.ctx(), Z3_mk_const_array(value.ctx().raw(), domain.raw(), value.raw()));
}

Expr lambda(const Expr& x, const Expr& body) {
  Z3_app vars[1] = {reinterpret_cast<Z3_app>(x.raw())};
  return make(body.ctx(), Z3_mk_lambda_const(body.ctx().raw(), 1, vars, body.raw()));
}

std::vector<Expr> uninterpretedConstants(const std::vector<Expr>& roots) {
  std::vector<Expr> out;
  if (roots.empty()) return out;
  Context& ctx = roots.front().ctx();
  Z3_context c = ctx.raw();
  std::vector<Z3_ast> stack;
  for (const auto& r : roots) stack.push_back(r.raw());
  std::unordered_set<unsigned> seen;
  while (!stack.empty()) {
    Z3_ast a = stack.back();
    stack.pop_back();
    if (!seen.insert(Z3_get_ast_id(c, a)).second) continue;
    if (Z3_get_ast_kind(c, a) != Z3_APP_AST) continue;
    Z3_app app = Z3_to_app(c, a);
    const unsigned n = Z3_get_app_num_args(c, app);
    if (n == 0 && Z3_get_decl_kind(c, Z3_get_app_decl(c, app)) == Z3_OP_UNINTERPRETED) {
      out.emplace_back(ctx, a);
    }
    for (unsigned i = 0; i < n; ++i) stack.push_back(Z3_get_app_arg(c, app, i));
  }
  return out;
}

void setMemoryLimit(int megabytes) {
  Z3_global_param_set("memory_max_size", std::to_string(megabytes).c_str());
}

std::string version() {
  return Z3_get_full_version();
}

}  // namespace loom::verify::smt
