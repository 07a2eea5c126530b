# Worker of the azure-sessions-lsp local pool: one long-lived Python interpreter of one session.
#
# Protocol: fd 3 is a socket to the pool (fd 0 is /dev/null). The worker moves the socket to a
# private, non-inheritable fd, so neither user code nor its child processes can read or write the
# protocol. Requests and replies are JSON lines on that socket. User output goes straight to fds 1
# and 2 (pipes the pool reads), including the output of child processes; the end of an execution
# is marked on both streams with a random marker chosen by the pool for that execution.
# Where fd 3 cannot be handed over (Windows), the pool sets AZURE_SESSIONS_WORKER_ADDR (a loopback
# host:port) and AZURE_SESSIONS_WORKER_TOKEN: the worker connects there and sends the token as its
# first line; both variables are removed before any user code runs.
#
# Each execution's code compiles under a file name of its own (`<run-17>`), registered in
# linecache: tracebacks show its source lines, and a frame's file tells which run its code is from.
import ast
import asyncio
import base64
import builtins
import inspect
import json
import linecache
import os
import socket
import sys
import tempfile
import traceback
import types

PROTOCOL_FD = 3
RESULT_LIMIT = 1 << 20
# Source kept in linecache for tracebacks through functions of earlier runs; the oldest goes first
# past this many characters.
SOURCE_LIMIT = 32 << 20


def write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]


class Worker:
    def __init__(self):
        addr = os.environ.pop("AZURE_SESSIONS_WORKER_ADDR", None)
        token = os.environ.pop("AZURE_SESSIONS_WORKER_TOKEN", "")
        if addr:
            host, port = addr.rsplit(":", 1)
            self.proto = socket.create_connection((host, int(port)))
            self.proto.sendall((token + "\n").encode("ascii"))
        else:
            self.proto = socket.socket(fileno=os.dup(PROTOCOL_FD))
            os.close(PROTOCOL_FD)
        self.devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(self.devnull, 0)
        sys.stdin = open(0, "r", encoding="utf-8", closefd=False)
        # Private copies of the output pipes: markers and tracebacks still arrive if user code
        # closes or redirects fds 1 and 2.
        self.out_fd = os.dup(1)
        self.err_fd = os.dup(2)
        self.loop = None
        self.runs = 0
        self.filename = None
        self.sources = []
        main = types.ModuleType("__main__")
        main.__dict__["__builtins__"] = builtins
        sys.modules["__main__"] = main
        self.ns = main.__dict__
        # Like `python -c`: imports resolve against the working directory (the session's files).
        sys.path[0] = os.getcwd()

    def send(self, message):
        self.proto.sendall(message.encode("utf-8") + b"\n")

    def serve(self):
        version = ".".join(str(p) for p in sys.version_info[:3])
        self.send(json.dumps({"op": "ready", "version": version, "pid": os.getpid()}))
        reader = self.proto.makefile("rb")
        for line in reader:
            try:
                request = json.loads(line)
            except ValueError:
                continue
            if request.get("op") == "exec":
                self.execute(request)

    def execute(self, request):
        os.dup2(self.out_fd, 1)
        os.dup2(self.err_fd, 2)
        self.set_stdin(request.get("stdin"))
        ok, result, outputs = True, "", []
        try:
            has_value, value = self.run(request.get("code", ""))
            if has_value:
                result = to_result(value)
            outputs = rich_outputs(has_value, value)
        except SystemExit as e:
            if e.code not in (None, 0):
                ok = False
                self.report(e)
        except BaseException as e:  # noqa: BLE001 - user code may raise anything
            ok = False
            self.report(e)
        finally:
            self.set_stdin(None)
        marker = request.get("marker", "").encode("utf-8")
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        write_all(self.out_fd, marker)
        write_all(self.err_fd, marker)
        self.send(
            '{"op":"done","ok":%s,"result":%s,"outputs":%s}'
            % ("true" if ok else "false", result_json(result), outputs_json(outputs))
        )

    def set_stdin(self, text):
        if text is None:
            os.dup2(self.devnull, 0)
        else:
            with tempfile.TemporaryFile() as f:
                f.write(text.encode("utf-8"))
                f.seek(0)
                os.dup2(f.fileno(), 0)
        # A fresh reader, so nothing buffered from an earlier execution is seen.
        sys.stdin = open(0, "r", encoding="utf-8", closefd=False)

    def run(self, code):
        filename = self.register(code)
        tree = ast.parse(code, filename, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        self.evaluate(compile(tree, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT))
        if last is None:
            return False, None
        return True, self.evaluate(
            compile(last, filename, "eval", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        )

    def register(self, code):
        """Names this execution's code and puts its source in linecache."""
        self.runs += 1
        self.filename = "<run-%d>" % self.runs
        # mtime None: linecache.checkcache never drops it (there is no file to compare with).
        linecache.cache[self.filename] = (len(code), None, code.splitlines(True), self.filename)
        self.sources.append((self.filename, len(code)))
        total = sum(size for _, size in self.sources)
        while total > SOURCE_LIMIT and len(self.sources) > 1:
            name, size = self.sources.pop(0)
            linecache.cache.pop(name, None)
            total -= size
        return self.filename

    def evaluate(self, code):
        value = eval(code, self.ns)
        if code.co_flags & inspect.CO_COROUTINE:
            # Top-level await, as in Jupyter.
            if self.loop is None:
                self.loop = asyncio.new_event_loop()
            value = self.loop.run_until_complete(value)
        return value

    def report(self, error):
        tb = error.__traceback__
        # Hide the worker's own frames: the traceback starts in the submitted code.
        while tb is not None and tb.tb_frame.f_code.co_filename != self.filename:
            tb = tb.tb_next
        try:
            text = "".join(traceback.format_exception(type(error), error, tb))
        except Exception:  # noqa: BLE001
            text = "%s\n" % type(error).__name__
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        write_all(self.err_fd, text.encode("utf-8", "replace"))


def to_result(value):
    """The final expression's value as Azure returns it: JSON, an image, or the repr string."""
    if value is None:
        return None
    png = image_png(value)
    if png is not None:
        return {"type": "image", "format": "png", "base64_data": base64.b64encode(png).decode("ascii")}
    try:
        json.dumps(value, allow_nan=False)
        return value
    except Exception:  # noqa: BLE001
        return safe_repr(value)


def image_png(value):
    try:
        if isinstance(value, type):
            return None
        method = getattr(value, "_repr_png_", None)
        if callable(method):
            data = method()
            return data if isinstance(data, bytes) else None
        if type(value).__module__.startswith("matplotlib") and hasattr(value, "savefig"):
            import io

            buf = io.BytesIO()
            value.savefig(buf, format="png")
            return buf.getvalue()
    except Exception:  # noqa: BLE001
        return None
    return None


# Rich representations, as IPython asks objects for them: (method, MIME type, binary).
REPR_METHODS = (
    ("_repr_png_", "image/png", True),
    ("_repr_jpeg_", "image/jpeg", True),
    ("_repr_svg_", "image/svg+xml", False),
    ("_repr_html_", "text/html", False),
    ("_repr_markdown_", "text/markdown", False),
    ("_repr_json_", "application/json", False),
)
OUTPUTS_LIMIT = 32 * 1024 * 1024


def mime_bundle(value):
    """The value's MIME bundle: text/plain and every rich repr it has."""
    bundle = {"text/plain": safe_repr(value)}
    if isinstance(value, type):
        return bundle
    for name, mime, binary in REPR_METHODS:
        try:
            method = getattr(value, name, None)
            data = method() if callable(method) else None
            if isinstance(data, tuple):  # (data, metadata)
                data = data[0]
            if data is None:
                continue
            if binary:
                if isinstance(data, str):
                    data = data.encode("latin-1")
                bundle[mime] = base64.b64encode(bytes(data)).decode("ascii")
            elif mime == "application/json":
                json.dumps(data)
                bundle[mime] = data
            else:
                bundle[mime] = str(data)
        except Exception:  # noqa: BLE001 - a broken repr is no repr
            continue
    png = image_png(value) if "image/png" not in bundle else None
    if png is not None:
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
    return bundle


def rich_outputs(has_value, value):
    """Figures left open by the code (shown and closed, as Jupyter's inline backend does) and
    the last value's bundle when it has more than text, as Jupyter outputs."""
    outputs = []
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            import io

            for number in plt.get_fignums():
                figure = plt.figure(number)
                if has_value and figure is value:
                    continue
                buf = io.BytesIO()
                figure.savefig(buf, format="png", bbox_inches="tight")
                outputs.append({
                    "output_type": "display_data",
                    "data": {"image/png": base64.b64encode(buf.getvalue()).decode("ascii"),
                             "text/plain": safe_repr(figure)},
                    "metadata": {},
                })
            plt.close("all")
        except Exception:  # noqa: BLE001
            pass
    if has_value and value is not None:
        bundle = mime_bundle(value)
        if len(bundle) > 1:
            outputs.append({"output_type": "execute_result", "data": bundle, "metadata": {}})
    return outputs


def outputs_json(outputs):
    try:
        text = json.dumps(outputs, allow_nan=False)
    except Exception:  # noqa: BLE001
        return "[]"
    return text if len(text) <= OUTPUTS_LIMIT else "[]"


def safe_repr(value):
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001
        text = "<unrepresentable %s>" % type(value).__name__
    return text[:RESULT_LIMIT]


def result_json(result):
    try:
        text = json.dumps(result, allow_nan=False)
    except Exception:  # noqa: BLE001
        text = json.dumps(safe_repr(result))
    if len(text) > RESULT_LIMIT:
        text = json.dumps(safe_repr(result)[:RESULT_LIMIT])
    return text


if __name__ == "__main__":
    Worker().serve()
