from gitops_bot.cli.start import cli

if __name__ == "__main__":
    cli()
