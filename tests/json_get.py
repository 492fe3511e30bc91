#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""json_get.py FILE EXPR - the value of a small Python expression over the
JSON document in FILE (bound to j), printed for shell tests (tests/init.sh).

EXPR is parsed, never handed to eval(): only the forms the tests use are
interpreted (subscripts and slices, comparisons, + - * <<, and/or/not,
list and generator comprehensions, len sum int str sorted max min, and the
str/dict methods get split startswith join); anything else is an error.
Scalars print as Python prints them (True, 3, text); lists and objects as
JSON.
"""
import ast
import json
import operator
import sys

FUNCS = {"len": len, "sum": sum, "int": int, "str": str, "sorted": sorted,
         "max": max, "min": min}
METHODS = {"get", "split", "startswith", "join"}
BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.LShift: operator.lshift}
CMPOPS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
          ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
          ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}


class Unsupported(Exception):
    pass


def ev(node, env):
    t = type(node)
    if t is ast.Constant:
        return node.value
    if t is ast.Name:
        if node.id not in env:
            raise Unsupported("unknown name " + node.id)
        return env[node.id]
    if t is ast.Subscript:
        return ev(node.value, env)[ev(node.slice, env)]
    if t is ast.Slice:
        return slice(*(ev(x, env) if x else None for x in (node.lower, node.upper, node.step)))
    if t is ast.UnaryOp and type(node.op) is ast.USub:
        return -ev(node.operand, env)
    if t is ast.UnaryOp and type(node.op) is ast.Not:
        return not ev(node.operand, env)
    if t is ast.BinOp and type(node.op) in BINOPS:
        return BINOPS[type(node.op)](ev(node.left, env), ev(node.right, env))
    if t is ast.BoolOp:  # Python's own: the first deciding value
        for v in node.values:
            r = ev(v, env)
            if bool(r) != (type(node.op) is ast.And):
                return r
        return r
    if t is ast.Compare:
        left = ev(node.left, env)
        for op, right_node in zip(node.ops, node.comparators):
            right = ev(right_node, env)
            if type(op) not in CMPOPS:
                raise Unsupported(type(op).__name__)
            if not CMPOPS[type(op)](left, right):
                return False
            left = right
        return True
    if t in (ast.List, ast.Tuple):
        vals = [ev(e, env) for e in node.elts]
        return vals if t is ast.List else tuple(vals)
    if t is ast.Call and not node.keywords:
        args = [ev(a, env) for a in node.args]
        f = node.func
        if type(f) is ast.Name and f.id in FUNCS:
            return FUNCS[f.id](*args)
        if type(f) is ast.Attribute and f.attr in METHODS:
            return getattr(ev(f.value, env), f.attr)(*args)
        raise Unsupported("call of " + ast.dump(f))
    if t in (ast.ListComp, ast.GeneratorExp):
        return list(comprehend(node.elt, node.generators, env))
    raise Unsupported(t.__name__)


def comprehend(elt, gens, env):
    if not gens:
        yield ev(elt, env)
        return
    g = gens[0]
    if type(g.target) is not ast.Name or g.is_async:
        raise Unsupported("comprehension target")
    for v in ev(g.iter, env):
        inner = dict(env, **{g.target.id: v})
        if all(ev(c, inner) for c in g.ifs):
            yield from comprehend(elt, gens[1:], inner)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: json_get.py FILE EXPR")
    with open(sys.argv[1]) as f:
        j = json.load(f)
    try:
        r = ev(ast.parse(sys.argv[2], mode="eval").body, {"j": j})
    except Unsupported as e:
        sys.exit("json_get.py: %s is not supported in %r" % (e, sys.argv[2]))
    print(r if not isinstance(r, (dict, list)) else json.dumps(r))


if __name__ == "__main__":
    main()
