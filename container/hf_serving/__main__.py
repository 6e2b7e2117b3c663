"""python -m hf_serving serve | demo-model ... | package ... | deploy ..."""

from __future__ import annotations

import sys

USAGE = "usage: python -m hf_serving {serve,demo-model,package,deploy} [options]"


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("serve", [])
    if command == "serve":
        from hf_serving.launcher.serve import main as serve

        return serve()
    if command == "demo-model":
        from hf_serving.demo_model import main as demo_model

        return demo_model(rest)
    if command == "package":
        from hf_serving.packaging import main as package

        return package(rest)
    if command == "deploy":
        from hf_serving.deploy import main as deploy

        return deploy(rest)
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
