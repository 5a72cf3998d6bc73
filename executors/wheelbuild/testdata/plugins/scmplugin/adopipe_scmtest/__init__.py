"""adopipe test plugin (setuptools_scm)."""

from importlib.resources import files


def space() -> str:
    return files(__name__).joinpath("space.yaml").read_text()
