/**
 * The core/v1 message tables of the protobuf decoder (field numbers from k8s.io/api core/v1
 * generated.proto): Pod and its PodSpec family (containers, env, resources, probes, volumes,
 * scheduling, security), Service, ServiceAccount, Secret, ConfigMap, Namespace and
 * PersistentVolumeClaim. The notation is described in protobuf_schema.ts. Volume sources the
 * fake's users do not write (cloud disks, iSCSI, Ceph, ...) are left out: a body carrying one
 * is refused by name instead of being misread.
 *
 * May import: nothing of the project.
 */

/** core/v1 messages in the notation of protobuf_schema.ts. */
export const CORE_V1: Record<string, string> = {
  Pod: "1 metadata ObjectMeta; 2 spec PodSpec; 3 status PodStatus",
  Service: "1 metadata ObjectMeta; 2 spec ServiceSpec; 3 status ServiceStatus",
  ServiceAccount: "1 metadata ObjectMeta; 2 secrets []ObjectReference; " +
    "3 imagePullSecrets []LocalObjectReference; 4 automountServiceAccountToken bool?",
  Secret: "1 metadata ObjectMeta; 5 immutable bool?; 2 data map<bytes>; " +
    "4 stringData map<string>; 3 type string",
  ConfigMap: "1 metadata ObjectMeta; 4 immutable bool?; 2 data map<string>; " +
    "3 binaryData map<bytes>",
  Namespace: "1 metadata ObjectMeta; 2 spec NamespaceSpec; 3 status NamespaceStatus",
  NamespaceSpec: "1 finalizers []string",
  NamespaceStatus: "1 phase string",
  ObjectReference: "1 kind string; 2 namespace string; 3 name string; 4 uid string; " +
    "5 apiVersion string; 6 resourceVersion string; 7 fieldPath string",
  LocalObjectReference: "1 name string",
  PodTemplateSpec: "1 metadata ObjectMeta; 2 spec PodSpec",

  PodSpec: "1 volumes []Volume; 20 initContainers []Container; 2 containers []Container; " +
    "34 ephemeralContainers []EphemeralContainer; 3 restartPolicy string; " +
    "4 terminationGracePeriodSeconds int?; 5 activeDeadlineSeconds int?; 6 dnsPolicy string; " +
    "7 nodeSelector map<string>; 8 serviceAccountName string; 9 serviceAccount string; " +
    "21 automountServiceAccountToken bool?; 10 nodeName string; 11 hostNetwork bool; " +
    "12 hostPID bool; 13 hostIPC bool; 27 shareProcessNamespace bool?; " +
    "14 securityContext PodSecurityContext?; 15 imagePullSecrets []LocalObjectReference; " +
    "16 hostname string; 17 subdomain string; 18 affinity Affinity?; 19 schedulerName string; " +
    "22 tolerations []Toleration; 23 hostAliases []HostAlias; 24 priorityClassName string; " +
    "25 priority int?; 26 dnsConfig PodDNSConfig?; 28 readinessGates []PodReadinessGate; " +
    "29 runtimeClassName string?; 30 enableServiceLinks bool?; 31 preemptionPolicy string?; " +
    "32 overhead map<Quantity>; 33 topologySpreadConstraints []TopologySpreadConstraint; " +
    "35 setHostnameAsFQDN bool?; 36 os PodOS?; 37 hostUsers bool?; " +
    "38 schedulingGates []PodSchedulingGate; 39 resourceClaims []PodResourceClaim; " +
    "40 resources ResourceRequirements?; 41 hostnameOverride string?; " +
    "43 schedulingGroup PodSchedulingGroup?",
  PodSchedulingGroup: "1 podGroupName string",
  PodOS: "1 name string",
  PodSchedulingGate: "1 name string",
  PodReadinessGate: "1 conditionType string",
  HostAlias: "1 ip string; 2 hostnames []string",
  PodDNSConfig: "1 nameservers []string; 2 searches []string; 3 options []PodDNSConfigOption",
  PodDNSConfigOption: "1 name string; 2 value string?",
  PodResourceClaim: "1 name string; 3 resourceClaimName string?; " +
    "4 resourceClaimTemplateName string?",
  EphemeralContainer: "1 ...ephemeralContainerCommon Container; 2 targetContainerName string",

  Container: "1 name string; 2 image string; 3 command []string; 4 args []string; " +
    "5 workingDir string; 6 ports []ContainerPort; 19 envFrom []EnvFromSource; " +
    "7 env []EnvVar; 8 resources ResourceRequirements; " +
    "23 resizePolicy []ContainerResizePolicy; 24 restartPolicy string?; " +
    "25 restartPolicyRules []ContainerRestartRule; 9 volumeMounts []VolumeMount; " +
    "21 volumeDevices []VolumeDevice; 10 livenessProbe Probe?; 11 readinessProbe Probe?; " +
    "22 startupProbe Probe?; 12 lifecycle Lifecycle?; 13 terminationMessagePath string; " +
    "20 terminationMessagePolicy string; 14 imagePullPolicy string; " +
    "15 securityContext SecurityContext?; 16 stdin bool; 17 stdinOnce bool; 18 tty bool",
  ContainerPort: "1 name string; 2 hostPort int; 3 containerPort int; 4 protocol string; " +
    "5 hostIP string",
  ContainerResizePolicy: "1 resourceName string; 2 restartPolicy string",
  ContainerRestartRule: "1 action string; 2 exitCodes ContainerRestartRuleOnExitCodes?",
  ContainerRestartRuleOnExitCodes: "1 operator string; 2 values []int",
  VolumeDevice: "1 name string; 2 devicePath string",
  EnvFromSource: "1 prefix string; 2 configMapRef ConfigMapEnvSource?; " +
    "3 secretRef SecretEnvSource?",
  ConfigMapEnvSource: "1 ...localObjectReference LocalObjectReference; 2 optional bool?",
  SecretEnvSource: "1 ...localObjectReference LocalObjectReference; 2 optional bool?",
  EnvVar: "1 name string; 2 value string; 3 valueFrom EnvVarSource?",
  EnvVarSource: "1 fieldRef ObjectFieldSelector?; 2 resourceFieldRef ResourceFieldSelector?; " +
    "3 configMapKeyRef ConfigMapKeySelector?; 4 secretKeyRef SecretKeySelector?; " +
    "5 fileKeyRef FileKeySelector?",
  ObjectFieldSelector: "1 apiVersion string; 2 fieldPath string",
  ResourceFieldSelector: "1 containerName string; 2 resource string; 3 divisor Quantity",
  ConfigMapKeySelector: "1 ...localObjectReference LocalObjectReference; 2 key string; " +
    "3 optional bool?",
  SecretKeySelector: "1 ...localObjectReference LocalObjectReference; 2 key string; " +
    "3 optional bool?",
  FileKeySelector: "1 volumeName string; 2 path string; 3 key string; 4 optional bool?",
  ResourceRequirements: "1 limits map<Quantity>; 2 requests map<Quantity>; " +
    "3 claims []ResourceClaim",
  ResourceClaim: "1 name string; 2 request string",
  VolumeMount: "1 name string; 2 readOnly bool; 7 recursiveReadOnly string?; " +
    "3 mountPath string; 4 subPath string; 5 mountPropagation string?; 6 subPathExpr string",

  Probe: "1 ...handler ProbeHandler; 2 initialDelaySeconds int; 3 timeoutSeconds int; " +
    "4 periodSeconds int; 5 successThreshold int; 6 failureThreshold int; " +
    "7 terminationGracePeriodSeconds int?",
  ProbeHandler: "1 exec ExecAction?; 2 httpGet HTTPGetAction?; 3 tcpSocket TCPSocketAction?; " +
    "4 grpc GRPCAction?",
  ExecAction: "1 command []string",
  HTTPGetAction: "1 path string; 2 port IntOrString; 3 host string; 4 scheme string; " +
    "5 httpHeaders []HTTPHeader",
  HTTPHeader: "1 name string; 2 value string",
  TCPSocketAction: "1 port IntOrString; 2 host string",
  GRPCAction: "1 port int; 2 service string?",
  Lifecycle: "1 postStart LifecycleHandler?; 2 preStop LifecycleHandler?; 3 stopSignal string?",
  LifecycleHandler: "1 exec ExecAction?; 2 httpGet HTTPGetAction?; " +
    "3 tcpSocket TCPSocketAction?; 4 sleep SleepAction?",
  SleepAction: "1 seconds int",

  Toleration: "1 key string; 2 operator string; 3 value string; 4 effect string; " +
    "5 tolerationSeconds int?",
  Affinity: "1 nodeAffinity NodeAffinity?; 2 podAffinity PodAffinity?; " +
    "3 podAntiAffinity PodAntiAffinity?",
  NodeAffinity: "1 requiredDuringSchedulingIgnoredDuringExecution NodeSelector?; " +
    "2 preferredDuringSchedulingIgnoredDuringExecution []PreferredSchedulingTerm",
  NodeSelector: "1 nodeSelectorTerms []NodeSelectorTerm",
  NodeSelectorTerm: "1 matchExpressions []NodeSelectorRequirement; " +
    "2 matchFields []NodeSelectorRequirement",
  NodeSelectorRequirement: "1 key string; 2 operator string; 3 values []string",
  PreferredSchedulingTerm: "1 weight int; 2 preference NodeSelectorTerm",
  PodAffinity: "1 requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm; " +
    "2 preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm",
  PodAntiAffinity: "1 requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm; " +
    "2 preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm",
  PodAffinityTerm: "1 labelSelector LabelSelector?; 2 namespaces []string; " +
    "3 topologyKey string; 4 namespaceSelector LabelSelector?; 5 matchLabelKeys []string; " +
    "6 mismatchLabelKeys []string",
  WeightedPodAffinityTerm: "1 weight int; 2 podAffinityTerm PodAffinityTerm",
  TopologySpreadConstraint: "1 maxSkew int; 2 topologyKey string; 3 whenUnsatisfiable string; " +
    "4 labelSelector LabelSelector?; 5 minDomains int?; 6 nodeAffinityPolicy string?; " +
    "7 nodeTaintsPolicy string?; 8 matchLabelKeys []string",

  PodSecurityContext: "1 seLinuxOptions SELinuxOptions?; " +
    "8 windowsOptions WindowsSecurityContextOptions?; 2 runAsUser int?; 6 runAsGroup int?; " +
    "3 runAsNonRoot bool?; 4 supplementalGroups []int; 12 supplementalGroupsPolicy string?; " +
    "5 fsGroup int?; 7 sysctls []Sysctl; 9 fsGroupChangePolicy string?; " +
    "10 seccompProfile SeccompProfile?; 11 appArmorProfile AppArmorProfile?; " +
    "13 seLinuxChangePolicy string?",
  SecurityContext: "1 capabilities Capabilities?; 2 privileged bool?; " +
    "3 seLinuxOptions SELinuxOptions?; 10 windowsOptions WindowsSecurityContextOptions?; " +
    "4 runAsUser int?; 8 runAsGroup int?; 5 runAsNonRoot bool?; " +
    "6 readOnlyRootFilesystem bool?; 7 allowPrivilegeEscalation bool?; 9 procMount string?; " +
    "11 seccompProfile SeccompProfile?; 12 appArmorProfile AppArmorProfile?",
  Capabilities: "1 add []string; 2 drop []string",
  SELinuxOptions: "1 user string; 2 role string; 3 type string; 4 level string",
  SeccompProfile: "1 type string; 2 localhostProfile string?",
  AppArmorProfile: "1 type string; 2 localhostProfile string?",
  Sysctl: "1 name string; 2 value string",
  WindowsSecurityContextOptions: "1 gmsaCredentialSpecName string?; " +
    "2 gmsaCredentialSpec string?; 3 runAsUserName string?; 4 hostProcess bool?",

  Volume: "1 name string; 2 ...volumeSource VolumeSource",
  // Every source is a Go pointer: `emptyDir: {}` is a volume type, not nothing.
  VolumeSource: "1 hostPath HostPathVolumeSource?; 2 emptyDir EmptyDirVolumeSource?; " +
    "6 secret SecretVolumeSource?; 7 nfs NFSVolumeSource?; " +
    "10 persistentVolumeClaim PersistentVolumeClaimVolumeSource?; " +
    "16 downwardAPI DownwardAPIVolumeSource?; 19 configMap ConfigMapVolumeSource?; " +
    "26 projected ProjectedVolumeSource?; 28 csi CSIVolumeSource?; " +
    "29 ephemeral EphemeralVolumeSource?; 30 image ImageVolumeSource?",
  HostPathVolumeSource: "1 path string; 2 type string?",
  EmptyDirVolumeSource: "1 medium string; 2 sizeLimit Quantity?",
  SecretVolumeSource: "1 secretName string; 2 items []KeyToPath; 3 defaultMode int?; " +
    "4 optional bool?",
  NFSVolumeSource: "1 server string; 2 path string; 3 readOnly bool",
  PersistentVolumeClaimVolumeSource: "1 claimName string; 2 readOnly bool",
  DownwardAPIVolumeSource: "1 items []DownwardAPIVolumeFile; 2 defaultMode int?",
  DownwardAPIVolumeFile: "1 path string; 2 fieldRef ObjectFieldSelector?; " +
    "3 resourceFieldRef ResourceFieldSelector?; 4 mode int?",
  ConfigMapVolumeSource: "1 ...localObjectReference LocalObjectReference; " +
    "2 items []KeyToPath; 3 defaultMode int?; 4 optional bool?",
  KeyToPath: "1 key string; 2 path string; 3 mode int?",
  ProjectedVolumeSource: "1 sources []VolumeProjection; 2 defaultMode int?",
  VolumeProjection: "1 secret SecretProjection?; 2 downwardAPI DownwardAPIProjection?; " +
    "3 configMap ConfigMapProjection?; 4 serviceAccountToken ServiceAccountTokenProjection?",
  SecretProjection: "1 ...localObjectReference LocalObjectReference; 2 items []KeyToPath; " +
    "4 optional bool?",
  ConfigMapProjection: "1 ...localObjectReference LocalObjectReference; " +
    "2 items []KeyToPath; 4 optional bool?",
  DownwardAPIProjection: "1 items []DownwardAPIVolumeFile",
  ServiceAccountTokenProjection: "1 audience string; 2 expirationSeconds int?; 3 path string",
  CSIVolumeSource: "1 driver string; 2 readOnly bool?; 3 fsType string?; " +
    "4 volumeAttributes map<string>; 5 nodePublishSecretRef LocalObjectReference?",
  EphemeralVolumeSource: "1 volumeClaimTemplate PersistentVolumeClaimTemplate?",
  PersistentVolumeClaimTemplate: "1 metadata ObjectMeta; 2 spec PersistentVolumeClaimSpec",
  ImageVolumeSource: "1 reference string; 2 pullPolicy string",

  PersistentVolumeClaim: "1 metadata ObjectMeta; 2 spec PersistentVolumeClaimSpec; " +
    "3 status PersistentVolumeClaimStatus",
  PersistentVolumeClaimSpec: "1 accessModes []string; 4 selector LabelSelector?; " +
    "2 resources VolumeResourceRequirements; 3 volumeName string; " +
    "5 storageClassName string?; 6 volumeMode string?; " +
    "7 dataSource TypedLocalObjectReference?; 8 dataSourceRef TypedObjectReference?; " +
    "9 volumeAttributesClassName string?",
  VolumeResourceRequirements: "1 limits map<Quantity>; 2 requests map<Quantity>",
  TypedLocalObjectReference: "1 apiGroup string?; 2 kind string; 3 name string",
  TypedObjectReference: "1 apiGroup string?; 2 kind string; 3 name string; " +
    "4 namespace string?",
  PersistentVolumeClaimStatus: "1 phase string; 2 accessModes []string; " +
    "3 capacity map<Quantity>; 5 allocatedResources map<Quantity>; " +
    "7 allocatedResourceStatuses map<string>; 8 currentVolumeAttributesClassName string?",

  ServiceSpec: "1 ports []ServicePort; 2 selector map<string>; 3 clusterIP string; " +
    "18 clusterIPs []string; 4 type string; 5 externalIPs []string; " +
    "7 sessionAffinity string; 8 loadBalancerIP string; " +
    "9 loadBalancerSourceRanges []string; 10 externalName string; " +
    "11 externalTrafficPolicy string; 12 healthCheckNodePort int; " +
    "13 publishNotReadyAddresses bool; 14 sessionAffinityConfig SessionAffinityConfig?; " +
    "19 ipFamilies []string; 17 ipFamilyPolicy string?; " +
    "20 allocateLoadBalancerNodePorts bool?; 21 loadBalancerClass string?; " +
    "22 internalTrafficPolicy string?; 23 trafficDistribution string?",
  ServicePort: "1 name string; 2 protocol string; 6 appProtocol string?; 3 port int; " +
    "4 targetPort IntOrString; 5 nodePort int",
  SessionAffinityConfig: "1 clientIP ClientIPConfig?",
  ClientIPConfig: "1 timeoutSeconds int?",
  ServiceStatus: "1 loadBalancer LoadBalancerStatus; 2 conditions []Condition",
  LoadBalancerStatus: "1 ingress []LoadBalancerIngress",
  LoadBalancerIngress: "1 ip string; 2 hostname string; 3 ipMode string?; " +
    "4 ports []PortStatus",
  PortStatus: "1 port int; 2 protocol string; 3 error string?",

  PodStatus: "17 observedGeneration int; 1 phase string; 2 conditions []PodCondition; " +
    "3 message string; 4 reason string; 11 nominatedNodeName string; 5 hostIP string; " +
    "16 hostIPs []HostIP; 6 podIP string; 12 podIPs []PodIP; 7 startTime Time?; " +
    "10 initContainerStatuses []ContainerStatus; 8 containerStatuses []ContainerStatus; " +
    "9 qosClass string; 13 ephemeralContainerStatuses []ContainerStatus; 14 resize string; " +
    "15 resourceClaimStatuses []PodResourceClaimStatus; " +
    "19 allocatedResources map<Quantity>; 20 resources ResourceRequirements?",
  HostIP: "1 ip string",
  PodIP: "1 ip string",
  PodCondition: "1 type string; 7 observedGeneration int; 2 status string; " +
    "3 lastProbeTime Time; 4 lastTransitionTime Time; 5 reason string; 6 message string",
  ContainerStatus: "1 name string; 2 state ContainerState; 3 lastState ContainerState; " +
    "4 ready bool; 5 restartCount int; 6 image string; 7 imageID string; " +
    "8 containerID string; 9 started bool?; 10 allocatedResources map<Quantity>; " +
    "11 resources ResourceRequirements?; 15 stopSignal string?",
  ContainerState: "1 waiting ContainerStateWaiting?; 2 running ContainerStateRunning?; " +
    "3 terminated ContainerStateTerminated?",
  ContainerStateWaiting: "1 reason string; 2 message string",
  ContainerStateRunning: "1 startedAt Time",
  ContainerStateTerminated: "1 exitCode int; 2 signal int; 3 reason string; " +
    "4 message string; 5 startedAt Time; 6 finishedAt Time; 7 containerID string",
  PodResourceClaimStatus: "1 name string; 2 resourceClaimName string?",
};
