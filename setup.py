"""Maps the top-level folders (kernel/, hookspecs/, plugins/, apps/) onto the ``boxoffice`` namespace."""

from setuptools import find_namespace_packages, setup

FOLDERS = ("kernel", "hookspecs", "plugins", "apps")
DATA = ["*.po", "*.pot", "*.mako", "*.html", "*.json", "py.typed", "*.ttf", "*.txt", "*.css", "*.js"]

packages: list[str] = []
package_dir: dict[str, str] = {}
for folder in FOLDERS:
    package_dir[f"boxoffice.{folder}"] = folder
    packages.append(f"boxoffice.{folder}")
    # Namespace discovery also lists data-only folders (migrations/versions, locale/…) as packages.
    packages += [f"boxoffice.{folder}.{sub}" for sub in find_namespace_packages(folder, exclude=["*__pycache__*"])]

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={name: DATA for name in packages},
)
