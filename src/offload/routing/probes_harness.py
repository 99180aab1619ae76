"""The Python script :func:`offload.routing.probes.run_probes` runs in the sandbox (as ``main.py``).

It loads ``context.py`` then ``solution.py``, evaluates every probe of ``probes.json`` under a per-call alarm,
and prints one JSON record per probe after the token in ``token.txt``: the load outcome, then each probe's
status, value, fingerprint, type family, match and failed property checks. ``PER_CALL_S`` and
``LOAD_TIMEOUT_S`` are placeholders the caller replaces with numbers.
"""

__all__ = ["HARNESS_SOURCE"]

HARNESS_SOURCE = r"""
import ast, contextlib, hashlib, io, json, math, signal, sys
TOKEN = open("token.txt").read()
PROBES = json.loads(open("probes.json").read())
PER_CALL, LOAD_S = PER_CALL_S, LOAD_TIMEOUT_S
class _Timeout(BaseException):
    pass
def _alarm(*_):
    raise _Timeout()
def emit(obj):
    sys.__stdout__.write(TOKEN + json.dumps(obj) + "\n")
    sys.__stdout__.flush()
class _Sink(io.StringIO):
    def write(self, s):
        if self.tell() < 20000:
            super().write(s[:20000])
        return len(s)
def timed(fn, seconds):
    sink = _Sink()
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            return fn(), sink.getvalue()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
def family(v):
    if v is None: return "None"
    if isinstance(v, bool): return "bool"
    if isinstance(v, (int, float)): return "number"
    return type(v).__name__
def fp(v, depth=0):
    if depth > 20: return "..."
    if isinstance(v, bool) or v is None: return repr(v)
    if isinstance(v, float):
        return repr(round(v, 6)) if math.isfinite(v) else repr(v)
    if isinstance(v, (int, str, bytes)): return repr(v)
    if isinstance(v, list): return "[" + ",".join(fp(x, depth + 1) for x in v) + "]"
    if isinstance(v, tuple): return "(" + ",".join(fp(x, depth + 1) for x in v) + ")"
    if isinstance(v, dict): return "{" + ",".join(sorted(fp(k, depth + 1) + ":" + fp(x, depth + 1) for k, x in v.items())) + "}"
    if isinstance(v, (set, frozenset)): return "set(" + ",".join(sorted(fp(x, depth + 1) for x in v)) + ")"
    return type(v).__name__ + ":" + repr(v)[:200]
def short_fp(v):
    s = fp(v)
    return s if len(s) <= 400 else "#" + hashlib.sha1(s.encode()).hexdigest() + ":" + str(len(s))
def eq(a, e):
    if isinstance(e, bool) or isinstance(a, bool):
        return type(a) is type(e) and a == e
    if isinstance(e, (int, float)) and isinstance(a, (int, float)):
        return a == e or (math.isfinite(a) and math.isfinite(e) and math.isclose(a, e, rel_tol=1e-6, abs_tol=1e-9))
    if isinstance(e, (list, tuple)):
        return type(a) is type(e) and len(a) == len(e) and all(eq(x, y) for x, y in zip(a, e))
    if isinstance(e, dict):
        return isinstance(a, dict) and a.keys() == e.keys() and all(eq(a[k], e[k]) for k in e)
    try:
        return bool(a == e)
    except Exception:
        return False
def first_arg(call):
    try:
        node = ast.parse(call, mode="eval").body
        return ast.literal_eval(node.args[0])
    except Exception:
        return None
def failed_checks(checks, call, v):
    bad = []
    for c in checks:
        try:
            if c == "sorted": ok = isinstance(v, list) and all(x <= y for x, y in zip(v, v[1:]))
            elif c == "unique": ok = isinstance(v, list) and len({repr(x) for x in v}) == len(v)
            elif c == "subset":
                src = first_arg(call)
                ok = isinstance(v, list) and src is not None and all(x in src for x in v)
            elif c == "same_length":
                src = first_arg(call)
                ok = hasattr(v, "__len__") and src is not None and len(v) == len(src)
            else: ok = True
        except Exception:
            ok = False
        if not ok: bad.append(c)
    return bad
ns = {"__name__": "solution", "__builtins__": __builtins__}
for fname in ("context.py", "solution.py"):
    try:
        src = open(fname).read()
        timed(lambda: exec(compile(src, fname, "exec"), ns), LOAD_S)
    except _Timeout:
        emit({"load": f"{fname}: timed out while loading"}); sys.exit(0)
    except BaseException as exc:
        emit({"load": f"{fname}: {type(exc).__name__}: {exc}"[:500]}); sys.exit(0)
emit({"load": "ok"})
failed, broke = 0, False
for i, p in enumerate(PROBES):
    rec = {"i": i}
    if (failed >= 2 or broke) and p["kind"] != "example":
        emit({"i": i, "status": "skipped", "value": "skipped: an example failed"})
        continue
    try:
        for stmt in p["setup"]:
            timed(lambda: exec(stmt, ns), PER_CALL)
        def call():
            v = eval(p["call"], ns)
            return v, short_fp(v), family(v), failed_checks(p["checks"], p["call"], v)
        (value, fingerprint, fam, bad), printed = timed(call, PER_CALL)
        rec.update(status="ok", value=repr(value)[:300], fingerprint=fingerprint, family=fam, failed=bad)
        if p["expected"] is not None:
            if p["mode"] == "value":
                rec["match"] = eq(value, ast.literal_eval(p["expected"]))
            else:
                want = " ".join(p["expected"].split())
                shown = [repr(value), str(value), printed.strip()]
                rec["match"] = any(" ".join(s.split()) == want for s in shown)
    except _Timeout:
        rec.update(status="timeout", value=f"timed out after {PER_CALL}s")
    except RecursionError:
        rec.update(status="error", value="RecursionError: maximum recursion depth exceeded")
    except BaseException as exc:
        rec.update(status="error", value=f"{type(exc).__name__}: {exc}"[:300])
    if p["kind"] == "example" and p["expected"] is not None and not rec.get("match"):
        failed, broke = failed + 1, broke or rec["status"] != "ok"
    emit(rec)
"""
