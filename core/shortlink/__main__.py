from shortlink.cli import main

main()
