#include "loom/wasm/hash.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "loom/wasm/ir.hpp"
#include "loom/wasm/module.hpp"

namespace loom::wasm {

std::string Hash128::hex() const {
  return fmt::format("{:016x}{:016x}", high, low);
}

Hash128 Hash128::fromHex(std::string_view hex) {
  if (hex.size() != 32) throw Error(fmt::format("bad hash '{}': expected 32 hex digits", hex));
  auto part = [&](std::string_view digits) {
    std::uint64_t v = 0;
    for (char c : digits) {
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<std::uint64_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<std::uint64_t>(c - 'a' + 10);
      else
        throw Error(fmt::format("bad hash '{}': not hexadecimal", hex));
    }
    return v;
  };
  return Hash128{part(hex.substr(16)), part(hex.substr(0, 16))};
}

namespace {

class Stream {
 public:
  Stream() : state_(XXH3_createState()) { XXH3_128bits_reset(state_.get()); }
  void word(std::uint64_t v) { XXH3_128bits_update(state_.get(), &v, sizeof v); }
  void text(const char* s) {
    const std::size_t n = s ? std::strlen(s) : 0;
    word(n);
    if (n) XXH3_128bits_update(state_.get(), s, n);
  }
  Hash128 digest() const {
    const XXH128_hash_t h = XXH3_128bits_digest(state_.get());
    return Hash128{h.low64, h.high64};
  }

 private:
  struct Free {
    void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
  };
  std::unique_ptr<XXH3_state_t, Free> state_;
};

class FunctionHasher {
 public:
  explicit FunctionHasher(const GlobalRename* rename = nullptr, bool rename_locals = false)
      : rename_(rename), rename_locals_(rename_locals) {}

  // One expression tree, or its root alone (`node_only`), with the labels it
  // branches to but does not define numbered by `outer`.
  Hash128 runExpression(BinaryenExpressionRef root, const OuterLabels& outer, bool node_only) {
    outer_ = &outer;
    findTargets(root);
    if (node_only) {
      visit(root);
    } else {
      walk(root, [&](BinaryenExpressionRef e, unsigned) {
        visit(e);
        return true;
      });
    }
    return stream_.digest();
  }

  FunctionHash run(BinaryenFunctionRef f) {
    function_ = f;
    params_ = BinaryenTypeArity(BinaryenFunctionGetParams(f));
    type(BinaryenFunctionGetParams(f));
    type(BinaryenFunctionGetResults(f));
    const BinaryenIndex vars = BinaryenFunctionGetNumVars(f);
    // Renamed, a var is hashed with its type where it is first used; vars
    // never used are zero-initialized values nothing reads.
    if (!rename_locals_) {
      stream_.word(vars);
      for (BinaryenIndex i = 0; i < vars; ++i) type(BinaryenFunctionGetVar(f, i));
    }
    findTargets(BinaryenFunctionGetBody(f));
    std::uint64_t expressions = 0;
    walk(BinaryenFunctionGetBody(f), [&](BinaryenExpressionRef e, unsigned) {
      if (!rename_locals_) visit(e);
      ++expressions;
      return true;
    });
    // Up to renamed vars, bodies are also compared up to structure that
    // decides nothing (hashNormalized).
    if (rename_locals_) hashNormalized(BinaryenFunctionGetBody(f));
    return FunctionHash{stream_.digest(), opaque_, expressions};
  }

 private:
  // A tuple type (several parameters or results) is an interned pointer,
  // different in every process: hashed by its parts, so that hashes, and
  // the verdict keys built on them, mean the same in every process.
  void type(BinaryenType t) {
    const BinaryenIndex arity = BinaryenTypeArity(t);
    if (arity <= 1) {
      stream_.word(stableType(t));
      return;
    }
    std::vector<BinaryenType> parts(arity);
    BinaryenTypeExpand(t, parts.data());
    stream_.word(0x7e9a11e5u);  // a tuple follows
    stream_.word(arity);
    for (BinaryenType p : parts) stream_.word(stableType(p));
  }

  // Numbers and v128 are small constants; the reference types are interned
  // too, so each gets a constant of its own. Any other (a typed reference
  // of GC) keeps its process-local value: its hash is good within a process.
  static std::uint64_t stableType(BinaryenType t) {
    if (t <= BinaryenTypeVec128()) return t;
    static const BinaryenType references[] = {BinaryenTypeFuncref(), BinaryenTypeExternref(),
                                              BinaryenTypeAnyref(),  BinaryenTypeEqref(),
                                              BinaryenTypeI31ref(),  BinaryenTypeDataref()};
    for (std::size_t i = 0; i < std::size(references); ++i) {
      if (t == references[i]) return 0x5ef0 + i;
    }
    return t;
  }

  // Parameters are the signature and keep their indices; vars are numbered
  // in order of first use, so two bodies hash alike exactly when a
  // type-preserving one-to-one renaming of vars turns one into the other.
  void local(BinaryenIndex index) {
    if (!rename_locals_ || index < params_) {
      stream_.word(index);
      return;
    }
    auto [it, fresh] = locals_.emplace(index, params_ + locals_.size());
    stream_.word(it->second);
    if (fresh) type(BinaryenFunctionGetVar(function_, index - params_));
  }

  // A label nothing branches to means nothing: Binaryen's reader names
  // blocks that the writer left unnamed, and every name after it would
  // shift if it counted.
  void findTargets(BinaryenExpressionRef root) {
    walk(root, [&](BinaryenExpressionRef e, unsigned) {
      if (kindOf(e) == ExprKind::Break) {
        targeted_.insert(BinaryenBreakGetName(e));
      } else if (kindOf(e) == ExprKind::Switch) {
        for (BinaryenIndex i = 0, n = BinaryenSwitchGetNumNames(e); i < n; ++i)
          targeted_.insert(BinaryenSwitchGetNameAt(e, i));
        if (const char* d = BinaryenSwitchGetDefaultName(e)) targeted_.insert(d);
      } else if (!isTransparent(kindOf(e))) {
        // Classes whose targets are not visible through the C API (try,
        // br_on_*): every label may be a target.
        every_label_targeted_ = true;
      }
      return true;
    });
  }

  bool isTargeted(const char* name) const {
    return name && (every_label_targeted_ || targeted_.count(name));
  }

  // Control structure that decides nothing, which passes such as
  // remove-unused-names, merge-blocks and vacuum add or take away, is
  // hashed as if it were not there:
  //  - a loop nothing branches to runs its body once: it is its body;
  //  - a block that is the last child of a block ends where its parent
  //    ends, so a branch to either goes to the same place: its children
  //    join the parent's list and its label becomes the parent's;
  //  - a block in the middle of a list that nothing branches to (nor to
  //    the blocks that end with it) only sequences its children: they
  //    join the list;
  //  - a block nothing branches to with one child is that child, with
  //    none it is a nop.
  // Every other expression is hashed as by visit(), in pre-order with its
  // number of children, so the stream still determines the tree.
  static BinaryenExpressionRef peel(BinaryenExpressionRef e, const FunctionHasher& h) {
    while (kindOf(e) == ExprKind::Loop && !h.isTargeted(BinaryenLoopGetName(e)))
      e = BinaryenLoopGetBody(e);
    return e;
  }

  // The labels that name the end of `block`: its own and those of the
  // blocks it ends with.
  void groupNames(BinaryenExpressionRef block, std::vector<const char*>& names) const {
    for (;;) {
      names.push_back(BinaryenBlockGetName(block));
      const BinaryenIndex n = BinaryenBlockGetNumChildren(block);
      if (n == 0) return;
      BinaryenExpressionRef last = peel(BinaryenBlockGetChildAt(block, n - 1), *this);
      if (kindOf(last) != ExprKind::Block) return;
      block = last;
    }
  }

  void flatten(BinaryenExpressionRef block, std::vector<BinaryenExpressionRef>& items) const {
    const BinaryenIndex n = BinaryenBlockGetNumChildren(block);
    for (BinaryenIndex i = 0; i < n; ++i) {
      BinaryenExpressionRef child = peel(BinaryenBlockGetChildAt(block, i), *this);
      if (kindOf(child) == ExprKind::Block) {
        bool joins = i + 1 == n;
        if (!joins) {
          std::vector<const char*> names;
          groupNames(child, names);
          joins = std::none_of(names.begin(), names.end(),
                               [&](const char* name) { return isTargeted(name); });
        }
        if (joins) {
          flatten(child, items);
          continue;
        }
      }
      items.push_back(child);
    }
  }

  void hashNormalized(BinaryenExpressionRef root) {
    std::vector<BinaryenExpressionRef> stack{root};
    std::vector<BinaryenExpressionRef> items;
    while (!stack.empty()) {
      BinaryenExpressionRef e = peel(stack.back(), *this);
      stack.pop_back();
      if (!e) continue;
      if (kindOf(e) != ExprKind::Block) {
        visit(e);
        const std::vector<BinaryenExpressionRef> kids = childrenOf(e);
        for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.push_back(*it);
        continue;
      }
      std::vector<const char*> names;
      groupNames(e, names);
      const bool targeted = std::any_of(names.begin(), names.end(),
                                        [&](const char* name) { return isTargeted(name); });
      items.clear();
      flatten(e, items);
      if (!targeted && items.size() == 1) {
        stack.push_back(items.front());
        continue;
      }
      if (!targeted && items.empty()) {
        stream_.word(static_cast<std::uint64_t>(ExprKind::Nop));
        type(BinaryenTypeNone());
        stream_.word(0);
        continue;
      }
      stream_.word(static_cast<std::uint64_t>(ExprKind::Block));
      type(BinaryenExpressionGetType(e));
      stream_.word(items.size());
      if (targeted) {
        const std::uint64_t id = next_label_++;
        for (const char* name : names) {
          if (name) labels_.emplace(name, id);
        }
        stream_.word(id);
      } else {
        stream_.word(~0ULL);
      }
      for (auto it = items.rbegin(); it != items.rend(); ++it) stack.push_back(*it);
    }
  }

  void label(const char* name) {
    if (!name || (!every_label_targeted_ && !targeted_.count(name))) {
      stream_.word(~0ULL);
      return;
    }
    auto [it, inserted] = labels_.try_emplace(name, next_label_);
    if (inserted) ++next_label_;
    stream_.word(it->second);
  }
  void target(const char* name) {
    auto it = labels_.find(name ? name : "");
    if (it == labels_.end() && outer_) {
      stream_.word(~2ULL);
      stream_.word((*outer_)(name));
    } else if (it == labels_.end()) {
      stream_.word(~1ULL);
      stream_.text(name);
    } else {
      stream_.word(it->second);
    }
  }

  void global(const char* name) {
    if (rename_ && *rename_) {
      stream_.text((*rename_)(name ? name : "").c_str());
    } else {
      stream_.text(name);
    }
  }

  void visit(BinaryenExpressionRef e) {
    const ExprKind kind = kindOf(e);
    if (!isTransparent(kind)) opaque_ = true;
    stream_.word(static_cast<std::uint64_t>(kind));
    type(BinaryenExpressionGetType(e));
    stream_.word(childrenOf(e).size());
    switch (kind) {
      case ExprKind::Block:
        label(BinaryenBlockGetName(e));
        break;
      case ExprKind::Loop:
        label(BinaryenLoopGetName(e));
        break;
      case ExprKind::If:
        stream_.word(BinaryenIfGetIfFalse(e) != nullptr);
        break;
      case ExprKind::Break:
        target(BinaryenBreakGetName(e));
        stream_.word(BinaryenBreakGetValue(e) != nullptr);
        stream_.word(BinaryenBreakGetCondition(e) != nullptr);
        break;
      case ExprKind::Switch:
        for (BinaryenIndex i = 0, n = BinaryenSwitchGetNumNames(e); i < n; ++i) {
          target(BinaryenSwitchGetNameAt(e, i));
        }
        target(BinaryenSwitchGetDefaultName(e));
        stream_.word(BinaryenSwitchGetValue(e) != nullptr);
        break;
      case ExprKind::Call:
        stream_.text(BinaryenCallGetTarget(e));
        stream_.word(BinaryenCallIsReturn(e));
        break;
      case ExprKind::CallIndirect:
        stream_.text(BinaryenCallIndirectGetTable(e));
        type(BinaryenCallIndirectGetParams(e));
        type(BinaryenCallIndirectGetResults(e));
        stream_.word(BinaryenCallIndirectIsReturn(e));
        break;
      case ExprKind::LocalGet:
        local(BinaryenLocalGetGetIndex(e));
        break;
      case ExprKind::LocalSet:
        local(BinaryenLocalSetGetIndex(e));
        stream_.word(BinaryenLocalSetIsTee(e));
        break;
      case ExprKind::GlobalGet:
        global(BinaryenGlobalGetGetName(e));
        break;
      case ExprKind::GlobalSet:
        global(BinaryenGlobalSetGetName(e));
        break;
      case ExprKind::Load:
        stream_.word(BinaryenLoadIsAtomic(e));
        stream_.word(BinaryenLoadIsSigned(e));
        stream_.word(BinaryenLoadGetOffset(e));
        stream_.word(BinaryenLoadGetAlign(e));
        stream_.word(BinaryenLoadGetBytes(e));
        break;
      case ExprKind::Store:
        stream_.word(BinaryenStoreIsAtomic(e));
        stream_.word(BinaryenStoreGetOffset(e));
        stream_.word(BinaryenStoreGetAlign(e));
        stream_.word(BinaryenStoreGetBytes(e));
        type(BinaryenStoreGetValueType(e));
        break;
      case ExprKind::Const:
        constant(e);
        break;
      case ExprKind::Unary:
        stream_.word(BinaryenUnaryGetOp(e));
        break;
      case ExprKind::Binary:
        stream_.word(BinaryenBinaryGetOp(e));
        break;
      case ExprKind::AtomicRMW:
        stream_.word(BinaryenAtomicRMWGetOp(e));
        stream_.word(BinaryenAtomicRMWGetBytes(e));
        stream_.word(BinaryenAtomicRMWGetOffset(e));
        break;
      case ExprKind::AtomicCmpxchg:
        stream_.word(BinaryenAtomicCmpxchgGetBytes(e));
        stream_.word(BinaryenAtomicCmpxchgGetOffset(e));
        break;
      case ExprKind::AtomicWait:
        type(BinaryenAtomicWaitGetExpectedType(e));
        break;
      case ExprKind::AtomicFence:
        stream_.word(BinaryenAtomicFenceGetOrder(e));
        break;
      case ExprKind::SIMDExtract:
        stream_.word(BinaryenSIMDExtractGetOp(e));
        stream_.word(BinaryenSIMDExtractGetIndex(e));
        break;
      case ExprKind::SIMDReplace:
        stream_.word(BinaryenSIMDReplaceGetOp(e));
        stream_.word(BinaryenSIMDReplaceGetIndex(e));
        break;
      case ExprKind::SIMDShuffle: {
        std::uint8_t mask[16];
        BinaryenSIMDShuffleGetMask(e, mask);
        for (std::uint8_t m : mask) stream_.word(m);
        break;
      }
      case ExprKind::SIMDTernary:
        stream_.word(BinaryenSIMDTernaryGetOp(e));
        break;
      case ExprKind::SIMDShift:
        stream_.word(BinaryenSIMDShiftGetOp(e));
        break;
      case ExprKind::SIMDLoad:
        stream_.word(BinaryenSIMDLoadGetOp(e));
        stream_.word(BinaryenSIMDLoadGetOffset(e));
        stream_.word(BinaryenSIMDLoadGetAlign(e));
        break;
      case ExprKind::SIMDLoadStoreLane:
        stream_.word(BinaryenSIMDLoadStoreLaneGetOp(e));
        stream_.word(BinaryenSIMDLoadStoreLaneGetOffset(e));
        stream_.word(BinaryenSIMDLoadStoreLaneGetAlign(e));
        stream_.word(BinaryenSIMDLoadStoreLaneGetIndex(e));
        break;
      case ExprKind::MemoryInit:
        stream_.word(BinaryenMemoryInitGetSegment(e));
        break;
      case ExprKind::DataDrop:
        stream_.word(BinaryenDataDropGetSegment(e));
        break;
      case ExprKind::RefIs:
        stream_.word(BinaryenRefIsGetOp(e));
        break;
      case ExprKind::RefAs:
        stream_.word(BinaryenRefAsGetOp(e));
        break;
      case ExprKind::RefFunc:
        stream_.text(BinaryenRefFuncGetFunc(e));
        break;
      case ExprKind::TableGet:
        stream_.text(BinaryenTableGetGetTable(e));
        break;
      case ExprKind::TableSet:
        stream_.text(BinaryenTableSetGetTable(e));
        break;
      case ExprKind::TableSize:
        stream_.text(BinaryenTableSizeGetTable(e));
        break;
      case ExprKind::TableGrow:
        stream_.text(BinaryenTableGrowGetTable(e));
        break;
      case ExprKind::Try:
        label(BinaryenTryGetName(e));
        for (BinaryenIndex i = 0, n = BinaryenTryGetNumCatchTags(e); i < n; ++i) {
          stream_.text(BinaryenTryGetCatchTagAt(e, i));
        }
        stream_.text(BinaryenTryGetDelegateTarget(e));
        break;
      case ExprKind::Throw:
        stream_.text(BinaryenThrowGetTag(e));
        break;
      case ExprKind::Rethrow:
        target(BinaryenRethrowGetTarget(e));
        break;
      case ExprKind::TupleExtract:
        stream_.word(BinaryenTupleExtractGetIndex(e));
        break;
      case ExprKind::I31Get:
        stream_.word(BinaryenI31GetIsSigned(e));
        break;
      default:
        break;
    }
  }

  void constant(BinaryenExpressionRef e) {
    const BinaryenType type = BinaryenExpressionGetType(e);
    if (type == BinaryenTypeInt32()) {
      stream_.word(static_cast<std::uint32_t>(BinaryenConstGetValueI32(e)));
    } else if (type == BinaryenTypeInt64()) {
      stream_.word(static_cast<std::uint64_t>(BinaryenConstGetValueI64(e)));
    } else if (type == BinaryenTypeFloat32()) {
      stream_.word(std::bit_cast<std::uint32_t>(BinaryenConstGetValueF32(e)));
    } else if (type == BinaryenTypeFloat64()) {
      stream_.word(std::bit_cast<std::uint64_t>(BinaryenConstGetValueF64(e)));
    } else if (type == BinaryenTypeVec128()) {
      std::uint8_t bytes[16];
      BinaryenConstGetValueV128(e, bytes);
      for (std::uint8_t b : bytes) stream_.word(b);
    } else {
      opaque_ = true;
    }
  }

  Stream stream_;
  std::unordered_map<std::string, std::uint64_t> labels_;
  std::uint64_t next_label_ = 0;
  const OuterLabels* outer_ = nullptr;
  std::unordered_set<std::string> targeted_;
  bool every_label_targeted_ = false;
  const GlobalRename* rename_ = nullptr;
  bool rename_locals_ = false;
  BinaryenFunctionRef function_ = nullptr;
  BinaryenIndex params_ = 0;
  std::map<BinaryenIndex, BinaryenIndex> locals_;
  bool opaque_ = false;
};

}  // namespace

FunctionHash hashFunction(BinaryenFunctionRef function) {
  return FunctionHasher().run(function);
}

FunctionHash hashFunction(BinaryenFunctionRef function, const GlobalRename& rename) {
  return FunctionHasher(&rename).run(function);
}

Hash128 hashExpression(BinaryenExpressionRef expr, const OuterLabels& outer) {
  return FunctionHasher().runExpression(expr, outer, false);
}

Hash128 hashExpressionNode(BinaryenExpressionRef expr, const OuterLabels& outer) {
  return FunctionHasher().runExpression(expr, outer, true);
}

FunctionHash hashFunctionUpToLocals(BinaryenFunctionRef function, const GlobalRename* rename) {
  return FunctionHasher(rename, true).run(function);
}

std::unordered_map<std::string, FunctionHash> hashFunctions(BinaryenModuleRef module) {
  std::unordered_map<std::string, FunctionHash> out;
  for (BinaryenFunctionRef f : definedFunctions(module)) {
    out.emplace(BinaryenFunctionGetName(f), hashFunction(f));
  }
  return out;
}

Hash128 hashBytes(std::span<const std::uint8_t> bytes) {
  const XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  return Hash128{h.low64, h.high64};
}

Hash128 hashString(std::string_view text) {
  const XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  return Hash128{h.low64, h.high64};
}

std::string sha256Hex(std::span<const std::uint8_t> bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  std::string out;
  out.reserve(length * 2);
  for (unsigned i = 0; i < length; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

}  // namespace loom::wasm
