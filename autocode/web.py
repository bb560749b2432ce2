"""The browser review: a local web app over a project, the second face of the CLI's operations.

Every action calls the same function the CLI calls (review.py, confirm.py, undo.py, learn.py),
in its own transaction, and is written to the same decision log. The app listens on 127.0.0.1
only. A page on another site, open in the same browser, must not act on the project, so every
state-changing request needs the per-session token printed into our own page, must come from
our own origin, and must name our host (against DNS rebinding).
"""
from __future__ import annotations

import html
import secrets
import shutil
import tempfile
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import confirm, recode, review, undo, webviews
from .errors import AutocodeError, Conflict, NotFound
from .reconcile import CONSENSUS, reconcile, settle_utterance
from .store import Project, default_coder

HERE = Path(__file__).parent
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
LOCAL_HOSTS = ("127.0.0.1", "localhost")
TOKEN_HEADER = "X-Autocode-Token"


# -- request bodies: unknown fields are refused, so a typo is a plain 422, not silently ignored --

class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AcceptBody(Body):
    name: str | None = None
    definition: str = ""
    theme: str = ""
    code: str | None = None
    new_theme: str | None = None   # a theme to make for the code, in the same step


class MergeBody(AcceptBody):
    ids: list[int] = Field(min_length=2)   # one candidate is accepted, not merged (as on the CLI)


class RejectBody(Body):
    ids: list[int] = Field(min_length=1)
    reason: str = ""


class LabelBody(Body):
    label: str


class NameBody(Body):
    name: str


class ThemeBody(Body):
    name: str
    definition: str = ""


class OrderBody(Body):
    ids: list[str] = Field(min_length=1)


class CodeRefBody(Body):
    code: str


class MoveCodeBody(Body):
    theme: str


class MergeCodeBody(Body):
    into: str


class RemoveCodeBody(Body):
    with_codings: bool = False


class DefineBody(Body):
    definition: str


class SplitBody(Body):
    parts: int = 2


class VerdictBody(Body):
    code: str | None = None
    expected: str | None = None   # the suggestion the page showed: if it changed since, the page is stale


class ThresholdBody(Body):
    threshold: float
    documents: list[str] | None = None


class TrainBody(Body):
    replace_other: bool = False   # the reviewer confirmed replacing a classifier another coder's codings taught


class DocumentsBody(Body):
    documents: list[str] | None = None


class ConsensusBody(Body):
    coders: list[str]
    codes: list[str] = []


# -- the app ---------------------------------------------------------------------------------------

def create_app(root: str | Path, coder: str | None = None, token: str | None = None,
               port: int | None = None) -> FastAPI:
    """The review app for the project at ``root``; ``port`` pins the Host header it accepts."""
    Project(Path(root)).close()  # fail now, with a plain message, if it is not a project
    app = FastAPI(title="autocode review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.root, app.state.coder = Path(root).resolve(), coder or default_coder()
    app.state.token, app.state.port = token or secrets.token_urlsafe(24), port
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.middleware("http")(guard)
    app.add_exception_handler(AutocodeError, autocode_error)
    app.add_exception_handler(RequestValidationError, bad_request)
    app.add_exception_handler(StarletteHTTPException, no_such_page)
    for register in (page_routes, candidate_routes, codebook_routes, suggestion_routes, consensus_routes, other_routes):
        register(app)
    return app


def open_project(request: Request):
    """One connection per request: SQLite connections must not cross threads."""
    project = Project(request.app.state.root)
    try:
        yield project
    finally:
        project.close()


def refuse(status: int, problem: str, fix: str) -> JSONResponse:
    return JSONResponse({"error": problem, "what_to_do": fix}, status_code=status)


async def guard(request: Request, call_next):
    """Host check on every request; token and origin check on every state change."""
    state = request.app.state
    host = request.headers.get("host", "")
    name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    if name not in LOCAL_HOSTS or (state.port and port and port != str(state.port)):
        return refuse(421, f"this review server only answers to 127.0.0.1, not '{host}'",
                      f"open http://127.0.0.1:{state.port or 'PORT'}/ instead")
    if request.method not in SAFE_METHODS:
        origin = request.headers.get("origin")
        if origin is not None and origin != f"http://{host}":
            return refuse(403, f"a page from {origin} tried to change this project", "use the review page itself")
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return refuse(403, "a request from another site tried to change this project", "use the review page itself")
        if not secrets.compare_digest(request.headers.get(TOKEN_HEADER, ""), state.token):
            return refuse(403, "this request lacks the review page's session token",
                          "reload the review page (the token changes each time autocode review starts)")
    return await call_next(request)


def status_of(exc: AutocodeError) -> int:
    """409 when the project's state forbids it now, 404 when a named thing does not exist."""
    return 409 if isinstance(exc, Conflict) else 404 if isinstance(exc, NotFound) else 400


async def autocode_error(request: Request, exc: AutocodeError) -> JSONResponse:
    return refuse(status_of(exc), exc.problem, exc.fix)


async def no_such_page(request: Request, exc: StarletteHTTPException):
    """A mistyped address gets words and a way back, in the form that was asked for."""
    if exc.status_code != 404:
        return refuse(exc.status_code, str(exc.detail), "use the review page itself")
    if request.url.path.startswith("/api/"):
        return refuse(404, f"there is no action at {request.url.path}", "use the review page itself")
    return HTMLResponse(f"<!doctype html><title>Not found</title><p>There is no page at {html.escape(request.url.path)} "
                        "in this review. <a href=\"/\">Back to the review</a>.</p>", status_code=404)


async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":
        return refuse(422, "the request body is not valid JSON", "send a JSON object, as the review page does")
    where = ".".join(str(p) for p in first.get("loc", []) if p != "body") or "the request"
    return refuse(422, f"{where}: {first.get('msg', 'not understood')}",
                  "send the fields this action expects (see the review page's own requests)")


# -- pages and fragments ---------------------------------------------------------------------------

def render(request: Request, name: str, **context) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, name, context)


def page_routes(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse)
    def page(request: Request, p: Project = Depends(open_project)):
        return render(request, "page.html", token=request.app.state.token, coder=request.app.state.coder,
                      project=p.root.name)

    @app.get("/part/{view}", response_class=HTMLResponse)
    def part(view: str, request: Request, document: str = "", order: str = "position",
             p: Project = Depends(open_project)):
        coder = request.app.state.coder
        pair = [w for w in request.query_params.get("coders", "").split(",") if w]
        views = {"candidates": lambda: webviews.candidates(p.conn),
                 "consensus": lambda: webviews.consensus(p.conn, pair, CONSENSUS),
                 "codebook": lambda: webviews.codebook(p.conn, coder),
                 "suggestions": lambda: webviews.suggestions(p, document, order, coder),
                 "log": lambda: {"decisions": webviews.log_page(p.conn)}}
        if view not in views:
            raise NotFound(f"there is no view '{view}'", f"use one of: {', '.join(views)}")
        return render(request, f"{view}.html", **views[view](), coder=coder)

    @app.get("/part/candidate/{cid}", response_class=HTMLResponse)
    def candidate_part(cid: int, request: Request, shown: int = webviews.SHOWN, p: Project = Depends(open_project)):
        return render(request, "candidate.html", **webviews.candidate(p.conn, cid, max(1, shown)), step=webviews.SHOWN)


def candidate_routes(app: FastAPI) -> None:
    def who(request: Request) -> str:
        return request.app.state.coder

    @app.get("/api/candidates")
    def list_(p: Project = Depends(open_project)):
        return webviews.candidates(p.conn)

    @app.get("/api/candidates/{cid}")
    def one(cid: int, p: Project = Depends(open_project)):
        return webviews.candidate(p.conn, cid)

    @app.post("/api/propose")
    def propose(request: Request, p: Project = Depends(open_project)):
        from .cluster import propose as find

        return {"candidates": len(find(p, coder=who(request)))}

    @app.post("/api/candidates/{cid}/accept")
    def accept(cid: int, body: AcceptBody, request: Request, p: Project = Depends(open_project)):
        return review.accept(p, cid, body.theme, body.name, body.definition, body.code, who(request), body.new_theme)

    @app.post("/api/candidates/merge")
    def merge(body: MergeBody, request: Request, p: Project = Depends(open_project)):
        return review.merge(p, body.ids, body.theme, body.name, body.definition, body.code, who(request),
                            new_theme=body.new_theme)

    @app.post("/api/candidates/reject")
    def reject(body: RejectBody, request: Request, p: Project = Depends(open_project)):
        return {"rejected": review.reject(p, body.ids, who(request), body.reason)}

    @app.post("/api/candidates/{cid}/reopen")
    def reopen(cid: int, request: Request, p: Project = Depends(open_project)):
        return {"reopened": review.reopen(p, [cid], who(request))}

    @app.post("/api/candidates/{cid}/rename")
    def rename(cid: int, body: LabelBody, request: Request, p: Project = Depends(open_project)):
        return review.rename_candidate(p, cid, body.label, who(request))

    @app.post("/api/candidates/{cid}/split")
    def split(cid: int, body: SplitBody, request: Request, p: Project = Depends(open_project)):
        return {"candidates": review.split(p, cid, body.parts, who(request))}

    @app.post("/api/candidates/{cid}/utterances/{uid}/remove")
    def remove(cid: int, uid: int, request: Request, p: Project = Depends(open_project)):
        return review.remove_utterance(p, cid, uid, who(request))

    @app.post("/api/candidates/{cid}/utterances/{uid}/move")
    def move(cid: int, uid: int, body: CodeRefBody, request: Request, p: Project = Depends(open_project)):
        return review.move_utterance(p, cid, uid, body.code, who(request))


def codebook_routes(app: FastAPI) -> None:
    def who(request: Request) -> str:
        return request.app.state.coder

    @app.get("/api/codebook")
    def codebook(request: Request, p: Project = Depends(open_project)):
        return webviews.codebook(p.conn, who(request))

    @app.post("/api/themes")
    def add_theme(body: ThemeBody, request: Request, p: Project = Depends(open_project)):
        return review.add_theme(p, body.name, body.definition, coder=who(request)).__dict__

    @app.post("/api/themes/order")
    def order(body: OrderBody, request: Request, p: Project = Depends(open_project)):
        return {"order": review.reorder_themes(p, body.ids, who(request))}

    @app.post("/api/themes/{tid}/rename")
    def rename_theme(tid: str, body: NameBody, request: Request, p: Project = Depends(open_project)):
        return review.rename_theme(p, tid, body.name, who(request)).__dict__

    @app.post("/api/codes/{code}/rename")
    def rename_code(code: str, body: NameBody, request: Request, p: Project = Depends(open_project)):
        return review.rename_code(p, code, body.name, who(request)).__dict__

    @app.post("/api/codes/{code}/move")
    def move_code(code: str, body: MoveCodeBody, request: Request, p: Project = Depends(open_project)):
        return review.move_code(p, code, body.theme, who(request)).__dict__

    @app.post("/api/codes/{code}/merge")
    def merge_code(code: str, body: MergeCodeBody, request: Request, p: Project = Depends(open_project)):
        r = recode.merge_codes(p, [code], body.into, who(request))
        return {"into": r["into"].__dict__, "merged": [c.__dict__ for c in r["merged"]], "codings": r["codings"]}

    @app.post("/api/codes/{code}/remove")
    def remove_code(code: str, body: RemoveCodeBody, request: Request, p: Project = Depends(open_project)):
        r = recode.remove_code(p, code, body.with_codings, who(request))
        return {"code": r["code"].__dict__, "codings": r["codings"], "candidates": r["candidates"]}

    @app.post("/api/themes/{tid}/remove")
    def remove_theme(tid: str, request: Request, p: Project = Depends(open_project)):
        return recode.remove_theme(p, tid, who(request)).__dict__

    @app.post("/api/codes/{code}/define")
    def define(code: str, body: DefineBody, request: Request, p: Project = Depends(open_project)):
        return review.define_code(p, code, body.definition, who(request)).__dict__


def suggestion_routes(app: FastAPI) -> None:
    def who(request: Request) -> str:
        return request.app.state.coder

    @app.get("/api/suggestions")
    def suggestions(request: Request, document: str = "", order: str = "position",
                    p: Project = Depends(open_project)):
        return webviews.suggestions(p, document, order, who(request))

    @app.post("/api/suggestions/accept-above")
    def accept_above(body: ThresholdBody, request: Request, p: Project = Depends(open_project)):
        return confirm.accept_above(p, body.threshold, body.documents, who(request))

    @app.post("/api/utterances/{uid}/code")
    def code_utterance(uid: int, body: CodeRefBody, request: Request, p: Project = Depends(open_project)):
        return confirm.code_utterance(p, uid, body.code, who(request))

    @app.post("/api/suggestions/{uid}/accept")
    def accept(uid: int, body: VerdictBody, request: Request, p: Project = Depends(open_project)):
        return confirm.accept(p, uid, body.code, who(request), body.expected)

    @app.post("/api/suggestions/{uid}/reject")
    def reject(uid: int, request: Request, p: Project = Depends(open_project)):
        return confirm.reject(p, uid, who(request))

    @app.post("/api/train")
    def train(request: Request, body: TrainBody | None = None, p: Project = Depends(open_project)):
        from .learn import train as fit, trained_coder

        mine, theirs = who(request), trained_coder(p.conn)
        if theirs and theirs != mine and not (body and body.replace_other):
            raise Conflict(f"the classifier learnt from {theirs}'s codings, and you are reviewing as {mine}: retraining "
                           f"here would replace it with one that learns from {mine}'s codings only",
                           f"to add your decisions to {theirs}'s, start the review as {theirs} ('autocode review "
                           f"--coder {theirs}'); to learn from {mine}'s codings instead, press Retrain again and confirm")
        metrics = fit(p, mine, evaluate=False)
        return {"coder": metrics["coder"], "utterances": metrics["utterances"], "codes": metrics["codes"],
                "borrowed": metrics["borrowed"]}

    @app.post("/api/suggest")
    def suggest(body: DocumentsBody, request: Request, p: Project = Depends(open_project)):
        from .learn import suggest as run

        return {"suggested": len(run(p, body.documents, coder=who(request)))}


def consensus_routes(app: FastAPI) -> None:
    def who(request: Request) -> str:
        return request.app.state.coder

    @app.post("/api/consensus/take-agreed")
    def take_agreed(body: ConsensusBody, request: Request, p: Project = Depends(open_project)):
        r = reconcile(p, body.coders, CONSENSUS, decided_by=who(request))
        return {"agreed": r["agreed"], "to_settle": len(r["to_settle"])}

    @app.post("/api/consensus/{uid}")
    def settle_one(uid: int, body: ConsensusBody, request: Request, p: Project = Depends(open_project)):
        return settle_utterance(p, uid, body.codes, body.coders, CONSENSUS, who(request))


def other_routes(app: FastAPI) -> None:
    @app.get("/api/state")
    def state(request: Request, p: Project = Depends(open_project)):
        from .learn import trained_coder

        return {**undo.available(p.conn), "counts": webviews.counts(p.conn), "coder": request.app.state.coder,
                "trained_coder": trained_coder(p.conn)}

    @app.get("/api/log")
    def log(limit: int = 200, p: Project = Depends(open_project)):
        return webviews.log(p.conn, limit)

    @app.post("/api/undo")
    def undo_(request: Request, p: Project = Depends(open_project)):
        return undo.undo(p, request.app.state.coder)

    @app.post("/api/redo")
    def redo_(request: Request, p: Project = Depends(open_project)):
        return undo.redo(p, request.app.state.coder)

    @app.get("/export/{fmt}")
    def export(fmt: str, p: Project = Depends(open_project)):
        name = webviews.EXPORTS.get(fmt)
        if name is None:
            raise NotFound(f"there is no export format '{fmt}'", f"use one of: {', '.join(webviews.EXPORTS)}")
        folder = Path(tempfile.mkdtemp(prefix="autocode-export-"))
        try:
            webviews.export(p, fmt, folder / name)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return FileResponse(folder / name, filename=f"{p.root.name}-{name}",
                            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


def serve(root: str | Path, port: int = 8765, coder: str | None = None, open_browser: bool = True) -> None:
    """Run the review app on 127.0.0.1 until Ctrl-C."""
    import threading
    import webbrowser

    import uvicorn

    app = create_app(root, coder, port=port)
    check_port(port)
    url = f"http://127.0.0.1:{port}/"
    print(f"Review {Path(root).resolve().name} at {url}  (only this computer can open it; Ctrl-C stops it)")
    if open_browser:
        threading.Timer(1.0, webbrowser.open, (url,)).start()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def check_port(port: int) -> None:
    """Refuse a busy port with a plain message, before uvicorn logs its own error."""
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise AutocodeError(f"port {port} on 127.0.0.1 is already in use (another review, or another program)",
                                f"close it, or start on another port: autocode review --port {port + 1}") from None
