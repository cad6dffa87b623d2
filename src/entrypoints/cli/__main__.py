from entrypoints.cli.app import main

main()
