import KafkaProtocol
import VltavaSecurity

extension Broker {
    /// Kafka's cluster operations (`AclOperation` codes CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS,
    /// ALTER_CONFIGS, IDEMPOTENT_WRITE) as a bit set: with no authorizer every client may do all of them.
    static let clusterAuthorizedOperations: Int32 = [5, 7, 8, 9, 10, 11, 12].reduce(0) { $0 | (1 << $1) }

    /// DescribeCluster: this node as the only broker and the controller (in a cluster: the live brokers and the
    /// controller), at the address advertised on the listener the request came in on. Controller endpoints (type 2) are for KRaft controllers, which a
    /// broker does not describe.
    func handleDescribeCluster(_ request: DescribeClusterRequest, context: RequestContext) -> DescribeClusterResponse {
        var response = DescribeClusterResponse()
        if context.version >= 1 {
            response.endpointType = request.endpointType
            if request.endpointType != 1 {
                response.errorCode = ErrorCode.unsupportedEndpointType.rawValue
                response.errorMessage = "Unsupported endpoint type \(request.endpointType): this is a broker, it describes brokers (1)."
                return response
            }
        }
        response.clusterId = metadata.clusterId
        response.controllerId = controllerNodeId
        response.brokers = brokerEndpoints(for: context.connection).map {
            DescribeClusterResponse.DescribeClusterBroker(brokerId: $0.nodeId, host: $0.host, port: $0.port, rack: $0.rack)
        }
        if request.includeClusterAuthorizedOperations {
            response.clusterAuthorizedOperations = authorization.enabled
                ? authorizedOperations(context, .cluster, clusterResourceName, among: Self.clusterOperations) : Self.clusterAuthorizedOperations
        }
        return response
    }
}
