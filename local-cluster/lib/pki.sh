# shellcheck shell=bash
# Certificates and kubeconfigs of the local cluster, made once under $LK_STATE/pki (sourced).

LK_PKI="$LK_STATE/pki"

# issue_cert NAME SUBJECT [SANS]: NAME.crt/NAME.key signed by the cluster CA.
issue_cert() {
    local name=$1 subject=$2 sans=${3:-} ext
    [[ -f $LK_PKI/$name.crt ]] && return 0
    ext=$(mktemp)
    {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        if [[ -n $sans ]]; then
            echo "extendedKeyUsage=serverAuth,clientAuth"
            echo "subjectAltName=$sans"
        else
            echo "extendedKeyUsage=clientAuth"
        fi
    } >"$ext"
    openssl req -new -newkey rsa:2048 -nodes -keyout "$LK_PKI/$name.key" -subj "$subject" \
        -out "$LK_PKI/$name.csr" 2>/dev/null
    openssl x509 -req -in "$LK_PKI/$name.csr" -CA "$LK_PKI/ca.crt" -CAkey "$LK_PKI/ca.key" \
        -CAcreateserial -days 3650 -extfile "$ext" -out "$LK_PKI/$name.crt" 2>/dev/null
    rm -f "$ext" "$LK_PKI/$name.csr"
    chmod 0600 "$LK_PKI/$name.key"
}

# write_kubeconfig FILE CERT_NAME: a kubeconfig with everything embedded (usable by any client).
write_kubeconfig() {
    local file=$1 cert=$2 k=("$LK_BIN/kubectl" --kubeconfig "$1")
    [[ -f $file ]] && return 0
    "${k[@]}" config set-cluster "$LK_CONTEXT" --server="https://$LK_NODE_IP:6443" \
        --certificate-authority="$LK_PKI/ca.crt" --embed-certs=true >/dev/null
    "${k[@]}" config set-credentials "$cert" --client-certificate="$LK_PKI/$cert.crt" \
        --client-key="$LK_PKI/$cert.key" --embed-certs=true >/dev/null
    "${k[@]}" config set-context "$LK_CONTEXT" --cluster="$LK_CONTEXT" --user="$cert" >/dev/null
    "${k[@]}" config use-context "$LK_CONTEXT" >/dev/null
    chmod 0600 "$file"
}

ensure_pki() {
    mkdir -p "$LK_PKI" && chmod 0700 "$LK_PKI"
    if [[ ! -f $LK_PKI/ca.crt ]]; then
        openssl req -x509 -new -newkey rsa:2048 -nodes -days 3650 -subj "/CN=local-k8s-ca" \
            -keyout "$LK_PKI/ca.key" -out "$LK_PKI/ca.crt" 2>/dev/null
        chmod 0600 "$LK_PKI/ca.key"
    fi
    if [[ ! -f $LK_PKI/sa.key ]]; then
        openssl genrsa -out "$LK_PKI/sa.key" 2048 2>/dev/null
        openssl rsa -in "$LK_PKI/sa.key" -pubout -out "$LK_PKI/sa.pub" 2>/dev/null
        chmod 0600 "$LK_PKI/sa.key"
    fi
    issue_cert apiserver "/CN=kube-apiserver" \
        "IP:$LK_NODE_IP,IP:127.0.0.1,IP:$LK_KUBERNETES_SVC_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$LK_DOMAIN"
    issue_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
    issue_cert admin "/O=system:masters/CN=local-k8s-admin"
    issue_cert controller-manager "/CN=system:kube-controller-manager"
    issue_cert scheduler "/CN=system:kube-scheduler"
    issue_cert kube-proxy "/CN=system:kube-proxy"
    issue_cert kubelet "/O=system:nodes/CN=system:node:$LK_NODE_NAME"
    write_kubeconfig "$LK_KUBECONFIG" admin
    local c
    for c in controller-manager scheduler kube-proxy kubelet; do
        write_kubeconfig "$LK_STATE/$c.kubeconfig" "$c"
    done
}
