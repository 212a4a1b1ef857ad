from digits.cli.app import main

main()
