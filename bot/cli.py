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


def _common_options(default) -> argparse.ArgumentParser:
    """--config and --verbose, accepted before the command and after it (shown in every --help).

    After the command the defaults are SUPPRESS, so an option given before the command is not reset.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=default, help="config file (default: ./config.yaml)")
    common.add_argument("--verbose", "-v", action="store_true", default=default,
                        help="log details and show tracebacks")
    return common


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="directive-bot", description="Answer questions about Party directives from knowledge/.",
                parents=[_common_options(None)])
    p.add_argument("--version", action="version", version=f"directive-bot {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    common = [_common_options(argparse.SUPPRESS)]

    ix = sub.add_parser("index", parents=common, help="build the index from knowledge/ and make it current")
    ix.add_argument("--knowledge", help="documents folder (overrides knowledge.dir)")
    ix.add_argument("--index", help="index folder (overrides index.dir)")
    ix.add_argument("--full", action="store_true", help="embed every passage again (retrain the builtin model)")
    ix.add_argument("--strict", action="store_true", help="exit 1 when any document failed")
    ix.add_argument("--rollback", action="store_true", help="make the previous index version current again")

    ask = sub.add_parser("ask", parents=common, help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--top-k", type=int, default=None)
    ask.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    _add_filters(ask)

    se = sub.add_parser("search", parents=common, help="ranked passages (readable, or JSON with --json)")
    se.add_argument("question", nargs="?")
    se.add_argument("--batch", help="JSONL file of {\"id\", \"text\"} lines")
    se.add_argument("--json", action="store_true", help="print JSON lines instead of readable text")
    se.add_argument("--top-k", type=int, default=10)
    _add_filters(se)

    sub.add_parser("chat", parents=common, help="ask questions interactively")

    ev = sub.add_parser("eval", parents=common, help="measure retrieval quality on a question set")
    ev.add_argument("--questions", required=True, help="JSONL: {\"id\", \"text\", \"relevant\": [doc ids], \"kind\"}")
    ev.add_argument("--mode", choices=["hybrid", "lexical", "dense", "all"], default="hybrid")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--show-misses", action="store_true")
    ev.add_argument("--offtopic", metavar="FILE",
                    help="JSONL of off-topic questions ({\"id\", \"text\"}): also report how many are rejected")

    sv = sub.add_parser("serve", parents=common, help="run a chat channel")
    sv.add_argument("channel", choices=["telegram", "zalo"])

    qz = sub.add_parser("quiz", parents=common, help="print quiz items drawn from the official documents")
    qz.add_argument("--topic", default="", help="a subject or a document (\"đảng viên dự bị\", \"Điều lệ\")")
    qz.add_argument("--doc", default="", help="only this official document (id, number or name: \"294\")")
    qz.add_argument("--count", type=int, default=10)
    qz.add_argument("--seed", type=int, default=0, help="the same seed draws the same items")
    qz.add_argument("--json", action="store_true", help="print {\"items\": [...]} as JSON")
    return p


def _config(args):
    from bot.config import load_config

    cfg = load_config(args.config, require_file=True)
    if getattr(args, "knowledge", None):
        cfg.knowledge.dir = Path(args.knowledge).resolve()
    if getattr(args, "index", None):
        cfg.index.dir = Path(args.index).resolve()
    return cfg


def _service(cfg):
    from bot.service.answering import AnswerService

    return AnswerService(cfg, progress=lambda msg: print(msg, file=sys.stderr))


def cmd_index(args) -> int:
    from bot.service.indexing import build as build_index
    from bot.service.indexing import roll_back as rollback

    cfg = _config(args)
    if args.rollback:
        print(f"index version {rollback(cfg)} is current again")
        return EXIT_OK
    report = build_index(cfg, progress=lambda m: print(m, file=sys.stderr), show_progress=sys.stderr.isatty(),
                         full=args.full)
    print(format_report(report))
    return EXIT_FAIL if args.strict and report.failed else EXIT_OK


def format_report(report) -> str:
    if report.unchanged_collection:
        lines = [f"nothing changed: index version {report.version} stays current ({report.documents} documents, "
                 f"{report.passages} passages; checked in {report.seconds:.1f} s)"]
    else:
        # a rate only for passages embedded in this run (a run that embedded nothing has none)
        rate = (f" ({report.embedded_passages / max(report.seconds, 1e-9):.0f} passages embedded/s)"
                if report.embedded_passages else "")
        lines = [f"index version {report.version}: {report.documents} documents, {report.passages} passages "
                 f"in {report.seconds:.1f} s{rate}",
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


def _add_filters(parser) -> None:
    """--doc-type, --issuer, --year, --doc: search only those documents (ask, search)."""
    parser.add_argument("--doc-type", help="only documents of this type (quy-dinh, huong-dan, dieu-le, tin-tuc, …)")
    parser.add_argument("--issuer", help="only documents whose issuer contains this (e.g. \"Ban Bí thư\")")
    parser.add_argument("--year", help="only documents issued this year (e.g. 2025)")
    parser.add_argument("--doc", action="append", help="only this document id (repeatable)")


def _doc_filter(args):
    from bot.service.scope import DocFilter, type_code

    year = (getattr(args, "year", None) or "").strip()
    if year and not (len(year) == 4 and year.isdigit()):
        raise UsageError(f"--year must be a year like 2025, got {year!r}")
    f = DocFilter(doc_ids=tuple(getattr(args, "doc", None) or ()),
                  doc_types=(type_code(args.doc_type),) if getattr(args, "doc_type", None) else (),
                  issuer=getattr(args, "issuer", None) or "", year=year)
    return f or None


def cmd_ask(args) -> int:
    from bot.channels.console import render_answer, use_color

    if args.top_k is not None and args.top_k < 1:
        raise UsageError("--top-k must be >= 1")
    doc_filter = _doc_filter(args)
    service = _service(_config(args))
    answer = _follow_up_alone(args.question) or service.answer(args.question, top_k=args.top_k,
                                                                 doc_filter=doc_filter)
    if args.json:
        print(json.dumps(dataclasses.asdict(answer), ensure_ascii=False))
    else:
        print(render_answer(answer, use_color(sys.stdout)))
    return EXIT_OK


def _follow_up_alone(question: str):
    """`ask` has no earlier question: "thêm", "tiếp" or a number get what `chat` says before any question."""
    from bot import messages
    from bot.channels import followups, text
    from bot.models import Answer

    typed = (question or "").strip()
    if text.is_more(typed) or followups.choice(typed) is not None:
        return Answer(question=typed, status="invalid", message=messages.NOTHING_TO_CONTINUE)
    return None


def _result_json(service, text: str, top_k: int, doc_filter=None) -> list[dict]:
    out = []
    for m in service.search(text, limit=top_k, doc_filter=doc_filter):
        p, d = m.passage, m.document
        out.append({"doc_id": d.doc_id, "passage_id": p.passage_id, "score": round(m.scores.fused, 4),
                    "doc_number": d.doc_number, "title": d.title, "section": p.section,
                    "issued": d.issued, "source_url": d.source_url, "text": p.text})
    return out


def _search_record(head: dict, service, text: str, top_k: int, doc_filter=None) -> dict:
    """One JSON output record; a question that cannot be searched gets no results and the reason."""
    problem = service.check_question(text)
    if problem:
        return head | {"results": [], "error": problem}
    return head | {"results": _result_json(service, text, top_k, doc_filter)}


def cmd_search(args) -> int:
    if args.top_k < 1:
        raise UsageError("--top-k must be >= 1")
    if bool(args.batch) == bool(args.question):
        raise UsageError("give either a question or --batch FILE")
    if args.batch and not args.json:
        raise UsageError("--batch writes JSON lines: add --json")
    doc_filter = _doc_filter(args)
    service = _service(_config(args))
    if args.question:
        record = _search_record({"query": args.question}, service, args.question, args.top_k, doc_filter)
        print(json.dumps(record, ensure_ascii=False) if args.json else format_search(record))
        return EXIT_OK
    try:
        fh = open(args.batch, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--batch {args.batch}: {exc.strerror}") from None
    bad = 0
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            item, problem = _batch_item(line)
            if problem:  # answer every good line; the bad one gets an error record, exit 1 at the end
                bad += 1
                print(f"directive-bot: {args.batch}:{lineno}: {problem}", file=sys.stderr)
                record = {"id": item.get("id") if isinstance(item, dict) else None, "line": lineno,
                          "results": [], "error": f"line {lineno}: {problem}"}
            else:
                record = _search_record({"id": item["id"]}, service, item["text"], args.top_k, doc_filter)
            print(json.dumps(record, ensure_ascii=False), flush=True)
    return EXIT_FAIL if bad else EXIT_OK


def _batch_item(line: str) -> tuple[object, str]:
    """One batch input line -> (the parsed item, "" or why it cannot be searched)."""
    try:
        item = json.loads(line)
    except ValueError as exc:
        return None, f"not valid JSON ({exc})"
    if not isinstance(item, dict) or "id" not in item or "text" not in item:
        return item, 'expected an object {"id", "text"}'
    if not isinstance(item["text"], str):
        return item, "text must be a string"
    try:
        json.dumps(item["id"])
    except (TypeError, ValueError):
        return item, "id must be a JSON value"
    return item, ""


def format_search(record: dict) -> str:
    """`search` without --json: the ranked passages as readable text."""
    if record.get("error"):
        return record["error"]
    if not record["results"]:
        return "no passages"
    blocks = []
    for rank, r in enumerate(record["results"], 1):
        ref = " · ".join(x for x in (r["doc_number"], r["title"], r["section"], r["issued"]) if x)
        blocks.append(f"{rank}. [{r['score']:.3f}] {ref}\n   {r['passage_id']}\n   {r['text']}")
    return "\n\n".join(blocks)


def cmd_chat(args) -> int:
    from bot.channels.console import chat

    return chat(_service(_config(args)))


def _question_file(read_questions, option: str, path: str) -> list:
    try:
        return read_questions(Path(path))
    except FileNotFoundError:
        raise UsageError(f"{option} {path}: file not found") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def cmd_eval(args) -> int:
    from bot.service.answer_eval import format_answer_result
    from bot.service.evaluation import evaluate, format_result, read_questions

    questions = _question_file(read_questions, "--questions", args.questions)
    if args.offtopic:  # scored as questions with no relevant document: "off-topic rejected"
        questions += [dataclasses.replace(q, relevant=[], kind="offtopic")
                      for q in _question_file(read_questions, "--offtopic", args.offtopic)]
    service = _service(_config(args))
    modes = ["lexical", "dense", "hybrid"] if args.mode == "all" else [args.mode]
    results = [evaluate(service, questions, mode) for mode in modes]
    answers = _answer_eval(service, Path(args.questions))
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in results]
                         + ([dataclasses.asdict(answers)] if answers else []), ensure_ascii=False, indent=1))
    else:
        for r in results:
            print(format_result(r))
            if args.show_misses:
                for m in r.misses:
                    print(f"  miss {m['id']} rank={m['rank']} {m['text']!r} top={m['top']} want={m['relevant']}")
            print()
        if answers:
            print(format_answer_result(answers))
            if args.show_misses:
                for m in answers.misses:
                    print(f"  miss {m['id']} {m['text']!r} first={m['first']} want={m['want']} "
                          f"doc_rank={m['doc_rank']} top3={m['top3']}")
    return EXIT_OK


def _answer_eval(service, path: Path):
    """Phrase figures (first passage, top three, short answer) when the question file carries phrases."""
    from bot.service.answer_eval import evaluate_answers, has_phrases, read_phrase_questions

    if not has_phrases(path):
        return None
    try:
        return evaluate_answers(service, read_phrase_questions(path))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def cmd_serve(args) -> int:
    cfg = _config(args)
    if args.channel == "telegram":
        from bot.channels.telegram.app import serve
    else:
        from bot.channels.zalo.app import serve
    return serve(cfg, verbose=args.verbose)


def cmd_quiz(args) -> int:
    from bot.channels.quiztext import format_sheet
    from bot.service.quiz import QuizService, explanation

    if args.count < 1:
        raise UsageError(f"--count must be >= 1, got {args.count}")
    quiz = QuizService(_service(_config(args)))
    if args.doc and not quiz.documents_named(args.doc):
        names = ", ".join(sorted(d.doc_id for d in quiz.pool().documents)) or "none"
        raise UsageError(f"--doc {args.doc}: no official document matches (official documents: {names})")
    items = quiz.draw(args.topic, doc=args.doc, count=args.count, seed=args.seed, fill=True)
    if args.json:
        out = [dataclasses.asdict(i) | {"explanation": explanation(i)} for i in items]
        print(json.dumps({"topic": args.topic, "doc": args.doc, "seed": args.seed, "pool": len(quiz.pool().items),
                          "items": out}, ensure_ascii=False, indent=1))
    elif items:
        print(format_sheet(items))
    if not items:
        print(f"directive-bot: no quiz item found (topic {args.topic!r}, doc {args.doc!r})", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


COMMANDS = {"index": cmd_index, "ask": cmd_ask, "search": cmd_search, "chat": cmd_chat,
            "eval": cmd_eval, "serve": cmd_serve, "quiz": cmd_quiz}


def main(argv: list[str] | None = None) -> int:
    from bot.config import ConfigError
    from bot.service.indexing import SERVICE_ERRORS

    parser = build_parser()
    verbose = "--verbose" in (argv or sys.argv[1:]) or "-v" in (argv or sys.argv[1:])
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        from bot import runtime

        # once, before any work: an `index` process builds and answers nothing, so FAISS may use every CPU
        runtime.configure(verbose=args.verbose, building=args.command == "index")
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"directive-bot: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"directive-bot: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SERVICE_ERRORS as exc:
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
