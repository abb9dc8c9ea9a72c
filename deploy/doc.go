// Package deploy holds tasuki's Kubernetes manifests (deploy/kubernetes,
// applied with `kubectl apply -f deploy/kubernetes/`) and the examples that
// go with them (deploy/examples). It has no Go code: deploy_test.go decodes
// every manifest strictly into the Kubernetes API types and checks that
// the pieces agree with each other, with the Dockerfile and with what
// `app serve` reads and serves.
package deploy
