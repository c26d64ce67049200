package httpapi

func handleCreateSubnet(r *request) (any, error)           { return nil, nil }
func handleDescribeSubnets(r *request) (any, error)        { return nil, nil }
func handleDeleteSubnet(r *request) (any, error)           { return nil, nil }
func handleImportKeyPair(r *request) (any, error)          { return nil, nil }
func handleDescribeKeyPairs(r *request) (any, error)       { return nil, nil }
func handleModifyKeyPairAttribute(r *request) (any, error) { return nil, nil }
func handleDeleteKeyPairs(r *request) (any, error)         { return nil, nil }
