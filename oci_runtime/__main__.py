"""`python -m oci_runtime` is the same as the `oci-runtime` command."""
import sys

from oci_runtime.cli import main

sys.exit(main())
