from scai.cli import main

main()
