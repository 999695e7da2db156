from chumnuoy.cli import main

main()
