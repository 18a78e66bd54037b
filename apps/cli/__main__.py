from boxoffice.apps.cli import main

main()
