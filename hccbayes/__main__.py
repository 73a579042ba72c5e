from hccbayes.cli import main

raise SystemExit(main())
