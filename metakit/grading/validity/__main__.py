"""``python -m metakit.grading.validity HW ...``: the ``validity`` command without the top-level CLI."""
import sys

from metakit.grading.validity import main

if __name__ == "__main__":
    sys.exit(main())
