"""MkDocs hook: the command-line reference page is generated from tinysent's own parser when the
site is built, so it lists exactly the commands and options `tinysent --help` shows."""

import argparse


def _options_table(parser: argparse.ArgumentParser) -> str:
    rows = ["| option | default | what it does |", "|---|---|---|"]
    for a in parser._actions:
        if isinstance(a, argparse._HelpAction):
            continue
        name = ", ".join(f"`{s}`" for s in a.option_strings) or f"`{a.metavar or a.dest}` (positional)"
        if a.choices and not isinstance(a, argparse._SubParsersAction):
            name += " {" + ", ".join(str(c) for c in a.choices) + "}"
        default = "" if a.default in (None, argparse.SUPPRESS, False) else f"`{a.default}`"
        text = (a.help or "").replace("%%", "%").replace("|", "\\|")
        rows.append(f"| {name} | {default} | {text} |")
    return "\n".join(rows)


def cli_reference() -> str:
    from tinysent.apps.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in sub._choices_actions}
    parts = ["## Global options", "", _options_table(parser), ""]
    for name, p in sub.choices.items():
        nested = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        parts += [f"## `tinysent {name}`", "", helps.get(name, "") or "", ""]
        if nested:
            for sname, sp in nested[0].choices.items():
                parts += [f"### `tinysent {name} {sname}`", "", _options_table(sp), ""]
        else:
            parts += [_options_table(p), ""]
    return "\n".join(parts)


def on_page_markdown(markdown, page, **kwargs):
    if "{{ cli_reference }}" in markdown:
        return markdown.replace("{{ cli_reference }}", cli_reference())
    return markdown
