import sys

from profiler.compare import main

sys.exit(main())
