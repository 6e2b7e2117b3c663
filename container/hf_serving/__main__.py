"""python -m hf_serving serve | demo-model ... | package ... | deploy ... | drift-baseline ... | mms-fix |
docs-assets [-o DIR] | zygote SOCKET DIR"""

from __future__ import annotations

import sys

USAGE = (
    "usage: python -m hf_serving {serve,demo-model,package,deploy,drift-baseline,mms-fix,docs-assets,zygote} [options]"
)


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("serve", [])
    if command == "serve":
        from hf_serving.launcher.serve import main as serve

        return serve()
    if command == "demo-model":
        from hf_serving.tools.demo_models import main as demo_model

        return demo_model(rest)
    if command == "package":
        from hf_serving.tools.packaging import main as package

        return package(rest)
    if command == "drift-baseline":
        from hf_serving.tools.drift_baseline import main as drift_baseline

        return drift_baseline(rest)
    if command == "deploy":
        from hf_serving.tools.deploy import main as deploy

        return deploy(rest)
    if command == "mms-fix":  # at install and image build: MMS's fixed response decoder, compiled once
        from hf_serving.launcher.mms import build_fixed_decoder

        print(f"compiled {build_fixed_decoder()}")
        return 0
    if command == "docs-assets":  # at install and image build: the pinned Swagger UI files that GET /docs serves
        from hf_serving.api_docs.assets import main as docs_assets

        return docs_assets(rest)
    if command == "zygote" and len(rest) == 2:  # started by serve on a multi-model endpoint (launcher/zygote.py)
        from hf_serving.launcher.zygote import main as zygote

        return zygote(rest)
    print(USAGE, file=sys.stderr)
    return 2


def run() -> None:
    """The hf-serving console script."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    run()
