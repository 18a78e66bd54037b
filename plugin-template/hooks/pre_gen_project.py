"""Refuse names that would generate a broken plugin (cookiecutter renders this file before running it)."""

import json
import keyword
import re
import sys

# Every answer is read back through tojson inside a raw '''-string (tojson escapes ' and line breaks), so no
# input can break this file before it is checked. The texts end up in Python and TOML string literals.
# fmt: off
ENTRY_POINT_NAME = json.loads(r'''{{ cookiecutter.entry_point_name | tojson }}''')
MODULE_NAME = json.loads(r'''{{ cookiecutter.module_name | tojson }}''')
PROJECT_SLUG = json.loads(r'''{{ cookiecutter.project_slug | tojson }}''')
TEXTS = {
    "plugin_name": json.loads(r'''{{ cookiecutter.plugin_name | tojson }}'''),
    "author": json.loads(r'''{{ cookiecutter.author | tojson }}'''),
    "author_email": json.loads(r'''{{ cookiecutter.author_email | tojson }}'''),
    "description": json.loads(r'''{{ cookiecutter.description | tojson }}'''),
    "version": json.loads(r'''{{ cookiecutter.version | tojson }}'''),
}
# fmt: on

problems: list[str] = []
# The entry-point name becomes a table prefix, an Alembic branch label and a gettext domain: keep it simple.
if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", ENTRY_POINT_NAME):
    problems.append(f"entry_point_name {ENTRY_POINT_NAME!r} must be a lowercase identifier (a-z, 0-9, _), max 40 chars")
if not MODULE_NAME.isidentifier() or keyword.iskeyword(MODULE_NAME) or MODULE_NAME == "boxoffice":
    problems.append(f"module_name {MODULE_NAME!r} must be a valid top-level Python identifier")
if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", PROJECT_SLUG):
    problems.append(f"project_slug {PROJECT_SLUG!r} is not a valid distribution name")
for key, text in TEXTS.items():
    if not text.strip() or any(char in text for char in '"\\\n'):
        problems.append(f"{key} must not be empty or contain double quotes, backslashes or line breaks")

for problem in problems:
    print(f"ERROR: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
