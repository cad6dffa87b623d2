from ideaforge_gateway.entrypoints.cli.app import main

main()
