"""The directive-bot command line: index, ask, search, chat, eval, serve."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from pathlib import Path

from bot import __version__

log = logging.getLogger("bot")

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line use: exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2 itself; keep one clear line
        self.print_usage(sys.stderr)
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="directive-bot", description="Answer questions about Party directives from knowledge/.")
    p.add_argument("--config", help="config file (default: ./config.yaml)")
    p.add_argument("--verbose", "-v", action="store_true", help="log details and show tracebacks")
    p.add_argument("--version", action="version", version=f"directive-bot {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    ix = sub.add_parser("index", help="build the index from knowledge/ and make it current")
    ix.add_argument("--knowledge", help="documents folder (overrides knowledge.dir)")
    ix.add_argument("--index", help="index folder (overrides index.dir)")
    ix.add_argument("--full", action="store_true", help="embed every passage again (retrain the builtin model)")
    ix.add_argument("--strict", action="store_true", help="exit 1 when any document failed")
    ix.add_argument("--rollback", action="store_true", help="make the previous index version current again")

    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--top-k", type=int, default=None)

    se = sub.add_parser("search", help="ranked passages as JSON")
    se.add_argument("question", nargs="?")
    se.add_argument("--batch", help="JSONL file of {\"id\", \"text\"} lines")
    se.add_argument("--json", action="store_true", help="print JSON (the only output format)")
    se.add_argument("--top-k", type=int, default=10)

    ch = sub.add_parser("chat", help="ask questions interactively")

    ev = sub.add_parser("eval", help="measure retrieval quality on a question set")
    ev.add_argument("--questions", required=True, help="JSONL: {\"id\", \"text\", \"relevant\": [doc ids], \"kind\"}")
    ev.add_argument("--mode", choices=["hybrid", "lexical", "dense", "all"], default="hybrid")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--show-misses", action="store_true")

    sv = sub.add_parser("serve", help="run a chat channel")
    sv.add_argument("channel", choices=["telegram", "zalo"])
    for sp in (ix, ask, se, ch, ev, sv):
        sp.add_argument("--config", dest="sub_config", help=argparse.SUPPRESS)
    return p


def _config(args):
    from bot.config import load_config

    cfg = load_config(getattr(args, "sub_config", None) or args.config)
    if getattr(args, "knowledge", None):
        cfg.knowledge.dir = Path(args.knowledge).resolve()
    if getattr(args, "index", None):
        cfg.index.dir = Path(args.index).resolve()
    return cfg


def _service(cfg):
    from bot.service.answering import AnswerService

    return AnswerService(cfg, progress=lambda msg: print(msg, file=sys.stderr))


def cmd_index(args) -> int:
    from bot.retrieval.index import build_index, rollback

    cfg = _config(args)
    if args.rollback:
        print(f"index version {rollback(cfg)} is current again")
        return EXIT_OK
    report = build_index(cfg, progress=lambda m: print(m, file=sys.stderr), show_progress=sys.stderr.isatty(),
                         full=args.full)
    print(format_report(report))
    return EXIT_FAIL if args.strict and report.failed else EXIT_OK


def format_report(report) -> str:
    lines = [f"index version {report.version}: {report.documents} documents, {report.passages} passages "
             f"in {report.seconds:.1f} s ({report.passages / max(report.seconds, 1e-9):.0f} passages/s)",
             f"added {len(report.added)}, changed {len(report.changed)}, removed {len(report.removed)}, "
             f"unchanged {len(report.unchanged)}, failed {len(report.failed)}",
             f"embedded {report.embedded_passages} passages, reused {report.reused_passages}"]
    if report.rebuilt_reason:
        lines.append(f"rebuilt completely: {report.rebuilt_reason}")
    for f in report.failed:
        lines.append(f"  failed: {f.path}: {f.reason}")
    for w in report.warnings:
        lines.append(f"  warning: {w.path}: {w.reason}")
    return "\n".join(lines)


def cmd_ask(args) -> int:
    from bot.channels.console import render_answer, use_color

    if args.top_k is not None and args.top_k < 1:
        raise UsageError("--top-k must be >= 1")
    service = _service(_config(args))
    answer = service.answer(args.question, top_k=args.top_k)
    print(render_answer(answer, use_color(sys.stdout)))
    return EXIT_OK


def _result_json(service, text: str, top_k: int) -> list[dict]:
    r = service.retriever
    out = []
    for s in r.search(text, limit=top_k):
        p = r.passages[s.idx]
        d = r.documents[p.doc_id]
        out.append({"doc_id": d.doc_id, "passage_id": p.passage_id, "score": round(s.score, 4),
                    "doc_number": d.doc_number, "title": d.title, "section": p.section,
                    "issued": d.issued, "source_url": d.source_url, "text": p.text})
    return out


def _search_record(head: dict, service, text: str, top_k: int) -> dict:
    """One JSON output record; a question that cannot be searched gets no results and the reason."""
    problem = service.check_question(text)
    if problem:
        return head | {"results": [], "error": problem}
    return head | {"results": _result_json(service, text, top_k)}


def cmd_search(args) -> int:
    if args.top_k < 1:
        raise UsageError("--top-k must be >= 1")
    if bool(args.batch) == bool(args.question):
        raise UsageError("give either a question or --batch FILE")
    service = _service(_config(args))
    if args.question:
        print(json.dumps(_search_record({"query": args.question}, service, args.question, args.top_k),
                         ensure_ascii=False))
        return EXIT_OK
    try:
        fh = open(args.batch, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--batch {args.batch}: {exc.strerror}") from None
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                qid, text = item["id"], item["text"]
                if not isinstance(text, str):
                    raise TypeError("text must be a string")
            except (ValueError, KeyError, TypeError) as exc:
                raise UsageError(f"{args.batch}:{lineno}: expected {{\"id\", \"text\"}} ({exc})") from None
            print(json.dumps(_search_record({"id": qid}, service, text, args.top_k), ensure_ascii=False), flush=True)
    return EXIT_OK


def cmd_chat(args) -> int:
    from bot.channels.console import chat

    return chat(_service(_config(args)))


def cmd_eval(args) -> int:
    from bot.service.evaluation import evaluate, format_result, read_questions

    try:
        questions = read_questions(Path(args.questions))
    except FileNotFoundError:
        raise UsageError(f"--questions {args.questions}: file not found") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    service = _service(_config(args))
    modes = ["lexical", "dense", "hybrid"] if args.mode == "all" else [args.mode]
    results = [evaluate(service, questions, mode) for mode in modes]
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in results], ensure_ascii=False, indent=1))
    else:
        for r in results:
            print(format_result(r))
            if args.show_misses:
                for m in r.misses:
                    print(f"  miss {m['id']} rank={m['rank']} {m['text']!r} top={m['top']} want={m['relevant']}")
            print()
    return EXIT_OK


def cmd_serve(args) -> int:
    cfg = _config(args)
    if args.channel == "telegram":
        from bot.channels.telegram.app import serve
    else:
        from bot.channels.zalo.bot import serve
    return serve(cfg)


COMMANDS = {"index": cmd_index, "ask": cmd_ask, "search": cmd_search, "chat": cmd_chat,
            "eval": cmd_eval, "serve": cmd_serve}


def main(argv: list[str] | None = None) -> int:
    from bot.config import ConfigError
    from bot.documents.loading import DocumentError
    from bot.retrieval.embedding import EmbeddingError
    from bot.retrieval.index import BuildError, IndexUnavailable

    parser = build_parser()
    verbose = "--verbose" in (argv or sys.argv[1:]) or "-v" in (argv or sys.argv[1:])
    try:
        args = parser.parse_args(argv)
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        if not args.verbose:
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"directive-bot: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"directive-bot: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (IndexUnavailable, BuildError, DocumentError, EmbeddingError) as exc:
        if verbose:
            raise
        print(f"directive-bot: error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAIL
    except Exception as exc:  # the one place a surprise becomes a one-line error
        if verbose:
            raise
        print(f"directive-bot: unexpected error: {type(exc).__name__}: {exc} (run with --verbose for details)",
              file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
