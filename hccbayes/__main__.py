from hccbayes.cli import main

if __name__ == "__main__":  # guarded: spawned helper processes import the main module again
    raise SystemExit(main())
