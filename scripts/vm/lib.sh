# shellcheck shell=bash
# Shared by scripts/vm-run, scripts/vm-test and scripts/vm/build-*: where things live and which
# kernel the guest boots. Sourced, never run.

VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd "$VM_LIB_DIR/../.." && pwd -P)
# shellcheck disable=SC2034  # used by the scripts that source this file
VM_CACHE_DIR=${OXLVM_VM_CACHE:-$REPO_ROOT/.cache/vm}

vm_die() {
    echo "vm: $*" >&2
    exit 125
}

# The guest kernel: the newest Debian kernel installed on the host that has both its image in
# /boot and the device-mapper modules (OXLVM_VM_KVER overrides).
vm_kernel_version() {
    if [[ -n ${OXLVM_VM_KVER:-} ]]; then
        echo "$OXLVM_VM_KVER"
        return
    fi
    local dir kver best=""
    for dir in /lib/modules/*/; do
        kver=$(basename "$dir")
        [[ -f /boot/vmlinuz-$kver && -e $dir/kernel/drivers/md ]] || continue
        if [[ -z $best ]] || [[ $(printf '%s\n%s\n' "$best" "$kver" | sort -V | tail -n1) == "$kver" ]]; then
            best=$kver
        fi
    done
    [[ -n $best ]] || vm_die "no guest kernel: need /boot/vmlinuz-* with modules in /lib/modules (run scripts/setup-system)"
    echo "$best"
}
