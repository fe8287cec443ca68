"""The return path (DESIGN.md §2 "closing the loop"): at wrap-up, the call's note on its Freshdesk ticket
(`services`, `note`, `targets`), and the pop written back to Genesys as participant attributes (`attributes`)."""
