import sys

from tinysent.apps.cli import main

sys.exit(main())
