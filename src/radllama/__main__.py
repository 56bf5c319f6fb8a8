"""`python -m radllama ...` (also what `accelerate launch -m radllama train ...` runs)."""

import sys

from radllama.cli import main

if __name__ == "__main__":
    sys.exit(main())
