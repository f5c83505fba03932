from guanxi.entry import main

main()
