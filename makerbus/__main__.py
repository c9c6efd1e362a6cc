from makerbus.cli import main

main()
