import sys

from pvcontrol.cli import main

sys.exit(main())
