import sys

from pvcontrol_app.cli import main  # the one core file that imports upward: a script entry, never imported

sys.exit(main())
