#compdef muxhook

_muxhook_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _MUXHOOK_COMPLETE=complete_zsh muxhook)
}

compdef _muxhook_completion muxhook
