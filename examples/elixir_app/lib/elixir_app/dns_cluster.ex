defmodule ElixirApp.DnsCluster do
  @moduledoc """
  Joins the other pods of this app: polls the headless Service's DNS name and connects
  to `BASENAME@IP` for every address, as libcluster's `Cluster.Strategy.Kubernetes.DNS`
  does. Real applications would configure libcluster instead:

      config :libcluster,
        topologies: [
          k8s: [
            strategy: Cluster.Strategy.Kubernetes.DNS,
            config: [service: "app-headless", application_name: "app", polling_interval: 5_000]
          ]
        ]

  Configuration from the environment:
    * `CLUSTER_DNS_QUERY`: the name to resolve (unset: no clustering)
    * `CLUSTER_BASENAME`: the part before `@` (default `app`)
    * `CLUSTER_POLL_MS`: polling interval in milliseconds (default 5000)
    * `CLUSTER_DNS_SERVER`: `IP:PORT` of a nameserver to ask instead of resolv.conf's
  """
  use GenServer
  require Logger

  def config_from_env do
    %{
      query: System.get_env("CLUSTER_DNS_QUERY"),
      basename: System.get_env("CLUSTER_BASENAME", "app"),
      interval: String.to_integer(System.get_env("CLUSTER_POLL_MS", "5000")),
      nameservers: parse_server(System.get_env("CLUSTER_DNS_SERVER"))
    }
  end

  def start_link(config), do: GenServer.start_link(__MODULE__, config, name: __MODULE__)

  @impl true
  def init(config) do
    send(self(), :poll)
    {:ok, config}
  end

  @impl true
  def handle_info(:poll, %{query: nil} = config), do: {:noreply, config}

  def handle_info(:poll, config) do
    for ip <- lookup(config), node = :"#{config.basename}@#{ip}", node != node() do
      unless node in Node.list(), do: Node.connect(node)
    end

    Process.send_after(self(), :poll, config.interval)
    {:noreply, config}
  end

  defp lookup(%{query: query, nameservers: ns}) do
    opts = if ns == [], do: [], else: [nameservers: ns]
    name = String.to_charlist(query)

    for type <- [:a, :aaaa], ip <- :inet_res.lookup(name, :in, type, opts) do
      :inet.ntoa(ip) |> to_string()
    end
  end

  defp parse_server(nil), do: []

  defp parse_server(spec) do
    [ip, port] = String.split(spec, ":", parts: 2)
    {:ok, addr} = :inet.parse_address(String.to_charlist(ip))
    [{addr, String.to_integer(port)}]
  end
end
