"""Render the hook reference (``docs/plugins.md``) from the hookspec docstrings, which are the documentation.

``python -m boxoffice.kernel.hookdocs > docs/plugins.md``; a test fails when the committed page is stale.
"""

from __future__ import annotations

import inspect

from boxoffice.hookspecs import FAMILIES

INTRO = """# Plugin hook reference

Generated from the docstrings in `hookspecs/` by `python -m boxoffice.kernel.hookdocs > docs/plugins.md`;
edit the docstrings, not this page. How to write and package a plugin: `docs/plugin-template.md` and
`docs/architecture.md`. Provider base classes live in `boxoffice.hookspecs.providers`.

Scope says which plugins a hook reaches: **event** — only plugins enabled on that event (plus always-on
plugins); **organizer** — plugins enabled on the organizer; **global** — every installed plugin. Implement a
hook with a function of the same name decorated with `@hookimpl` (from `boxoffice.hookspecs`); it may accept
any subset of the arguments.
"""


def render() -> str:
    parts = [INTRO]
    for family in FAMILIES:
        title = family.__name__.rsplit(".", 1)[-1].replace("_", " ")
        parts.append(f"\n## {title}\n\n{inspect.cleandoc(family.__doc__ or '')}\n")
        for name, function in inspect.getmembers(family, inspect.isfunction):
            if function.__module__ != family.__name__ or name.startswith("_"):
                continue
            options = getattr(function, "boxoffice_spec", {})
            scope = getattr(function, "boxoffice_scope", "global")
            first = " · first answer wins" if options.get("firstresult") else ""
            signature = str(inspect.signature(function)).replace("'", "")
            doc = inspect.cleandoc(function.__doc__ or "")
            parts.append(f"\n### `{name}{signature}`\n\n*scope: {scope}{first}*\n\n{doc}\n")
    return "".join(parts)


if __name__ == "__main__":
    print(render(), end="")
