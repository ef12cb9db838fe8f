# bash completion for zagent(1)                              -*- shell-script -*-
# Installed as <datadir>/bash-completion/completions/zagent.  Plain bash
# (COMP_WORDS, compgen): works with or without the bash-completion package.
#
# A new command: add it to _zagent_commands and give it a case in
# _zagent_opts (its options) and, if it takes container ids, in
# _zagent_takes_id.

_zagent_list_opts="-q --quiet --format --json -h --help"
_zagent_pull_opts="--pull --authfile --cert-dir --tls-verify --quiet"
_zagent_commands="spec bundle cleanup check run ps stop rm state cdi gpu pull images rmi image"

# Options of spec, bundle and run (zagent --help: BUILD OPTIONS).
_zagent_build_opts="-f --file -s --service -r --replica --image-config --hostname --cwd --env
 --host-network --volume --socket --secrets-dir --scope --rootless --no-rootless --rootfs
 --device --cdi-dir -h --help"

# The options of COMMAND [SUBCOMMAND].
_zagent_opts () {
  case "$1" in
    spec) echo "$_zagent_build_opts" ;;
    bundle) echo "$_zagent_build_opts -b --bundle" ;;
    run) echo "$_zagent_build_opts -b --bundle --image --runtime -d --detach --keep $_zagent_pull_opts" ;;
    cleanup) echo "-b --bundle -h --help" ;;
    check) echo "-f --file -h --help" ;;
    ps) echo "$_zagent_list_opts" ;;
    pull) echo "$_zagent_pull_opts -h --help" ;;
    images) echo "$_zagent_list_opts" ;;
    rmi) echo "-f --force -h --help" ;;
    image) [ "$2" = prune ] && echo "--all -h --help" ;;
    stop) echo "-t --time -h --help" ;;
    rm) echo "-f --force -h --help" ;;
    state) echo "-h --help" ;;
    cdi)
      case "$2" in
        list) echo "--cdi-dir $_zagent_list_opts" ;;
        validate) echo "-h --help" ;;
        resolve) echo "--cdi-dir -h --help" ;;
        inject) echo "-b --bundle --cdi-dir -h --help" ;;
        generate) echo "--vendor -o --output --use-nvidia-ctk -h --help" ;;
      esac ;;
    gpu) [ "$2" = list ] && echo "$_zagent_list_opts" ;;
  esac
}

_zagent_takes_id () {
  case "$1" in stop | rm | state) return 0 ;; esac
  return 1
}

# Container ids: `zagent ps -q` where it exists, else the first column of
# `zagent ps` below its header.
_zagent_ids () {
  local z=${COMP_WORDS[0]} ids
  if ids=$("$z" ps -q 2>/dev/null); then
    printf '%s\n' "$ids"
  else
    "$z" ps 2>/dev/null | awk 'NR > 1 { print $1 }'
  fi
}

_zagent () {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local cmd="" sub="" i w
  COMPREPLY=()
  # The command and (cdi, gpu) its subcommand: the first words that are
  # not options or option values.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case "$w" in -*) continue ;; esac
    case "${COMP_WORDS[i - 1]}" in
      -f | --file | -s | --service | -r | --replica | -b | --bundle | --image-config | --hostname | --cwd | \
        --env | --volume | --socket | --secrets-dir | --scope | --rootfs | --device | --cdi-dir | --image | \
        --runtime | -t | --time | --vendor | -o | --output)
        [ -n "$cmd" ] && continue ;;
    esac
    if [ -z "$cmd" ]; then
      cmd=$w
    elif [ -z "$sub" ] && { [ "$cmd" = cdi ] || [ "$cmd" = gpu ]; }; then
      sub=$w
    fi
  done

  # The value of an option (rm's -f is --force, not --file).
  [ "$cmd" = rm ] && [ "$prev" = -f ] && prev=--force
  case "$prev" in
    -f | --file | --image-config | --socket | -o | --output)
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -f -- "$cur"))
      return ;;
    -b | --bundle | --rootfs | --secrets-dir | --cdi-dir | --cwd | --image)
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -d -- "$cur"))
      return ;;
    --runtime)
      COMPREPLY=($(compgen -W "runc crun youki" -- "$cur"))
      return ;;
    --vendor)
      COMPREPLY=($(compgen -W "nvidia amd intel" -- "$cur"))
      return ;;
    -s | --service | -r | --replica | --hostname | --env | --volume | --scope | --device | -t | --time)
      return ;;
  esac

  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W "$_zagent_commands -h --help -V --version" -- "$cur"))
    return
  fi
  if [ -z "$sub" ]; then
    case "$cmd" in
      cdi) COMPREPLY=($(compgen -W "list validate resolve inject generate check -h --help" -- "$cur")); return ;;
      image) COMPREPLY=($(compgen -W "prune -h --help" -- "$cur")); return ;;
      gpu) COMPREPLY=($(compgen -W "list -h --help" -- "$cur")); return ;;
    esac
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_zagent_opts "$cmd" "$sub")" -- "$cur"))
  elif _zagent_takes_id "$cmd"; then
    COMPREPLY=($(compgen -W "$(_zagent_ids)" -- "$cur"))
  elif [ "$cmd" = cdi ] && [ "$sub" = validate ]; then
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _zagent zagent
