"""Print one of the README's two commands: `main` or `test`.

Each lives in README.md in a ```bash block directly after a marker line
``<!-- main-command -->`` or ``<!-- test-command -->``.
"""

import pathlib
import re
import sys


def command(name: str, readme: str) -> str:
    pattern = rf"<!-- {name}-command -->\s*```bash\n(.*?)\n```"
    match = re.search(pattern, readme, re.S)
    if match is None:
        raise SystemExit(f"README.md has no <!-- {name}-command --> block")
    return match.group(1).strip()


if __name__ == "__main__":
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    print(command(sys.argv[1], readme))
