%% Random Erlang terms for beamlink's differential tests.
%%
%% Files hold records: a 4-byte big-endian length, then term_to_binary of one term.
%%
%%   write_file(Path, Count, Seed)  Count random terms (reproducible from Seed), encoded
%%                                  with a mix of options (minor_version 1 and 2,
%%                                  compressed) so every decoder path is exercised.
%%   read_file(Path)                The terms of a record file, in order.
%%   check_file(Expected, Actual)   Compares two record files term by term with =:=;
%%                                  prints "ok N" or the first mismatches.
%%   check_expected(Bin, Script)    Record file Bin against the terms of Script, a file
%%                                  whose expressions (file:script) evaluate to the list
%%                                  of expected terms: each must be =:=, and each record
%%                                  must be byte for byte what term_to_binary(T,
%%                                  [{minor_version, 2}]) gives; prints "ok N" or the
%%                                  differences.
%%   gen(Depth)                     One random term (uses the process's rand state).
-module(term_gen).
-export([write_file/3, read_file/1, check_file/2, check_expected/2, gen/1, encode/1]).

write_file(Path, Count, Seed) ->
    rand:seed(exsss, {Seed, Seed * 7 + 1, Seed * 13 + 2}),
    Recs = [record(encode(gen(3))) || _ <- lists:seq(1, Count)],
    ok = file:write_file(Path, Recs).

%% term_to_binary with randomly chosen options.
encode(T) ->
    case rand:uniform(10) of
        1 -> term_to_binary(T, [{minor_version, 1}]);
        2 -> term_to_binary(T, [compressed, {minor_version, 2}]);
        _ -> term_to_binary(T, [{minor_version, 2}])
    end.

record(Bin) -> [<<(byte_size(Bin)):32>>, Bin].

read_file(Path) ->
    {ok, Bin} = file:read_file(Path),
    [binary_to_term(B) || B <- records(Bin)].

records(<<>>) -> [];
records(<<N:32, B:N/binary, Rest/binary>>) -> [B | records(Rest)].

check_file(ExpectedPath, ActualPath) ->
    Es = read_file(ExpectedPath),
    {ok, ABin} = file:read_file(ActualPath),
    As = records(ABin),
    report(length(Es), length(As), compare(Es, As, 0, [])).

compare([], [], _, Bad) -> lists:reverse(Bad);
compare([E | Es], [A | As], I, Bad) ->
    R = try binary_to_term(A) of
            T when T =:= E -> Bad;
            T -> [{I, expected, E, got, T} | Bad]
        catch C:Why -> [{I, expected, E, C, Why, A} | Bad]
        end,
    compare(Es, As, I + 1, R);
compare(_, _, I, Bad) -> lists:reverse([{I, count_differs} | Bad]).

check_expected(BinPath, ScriptPath) ->
    {ok, Expected} = file:script(ScriptPath),
    {ok, Bin} = file:read_file(BinPath),
    Recs = records(Bin),
    Bad = consult_compare(Expected, Recs, 0, []),
    report(length(Expected), length(Recs), Bad).

consult_compare([], [], _, Bad) -> lists:reverse(Bad);
consult_compare([E | Es], [B | Bs], I, Bad) ->
    Mine = term_to_binary(E, [{minor_version, 2}]),
    R = try binary_to_term(B) of
            T when T =/= E -> [{I, expected, E, got, T} | Bad];
            _ when B =/= Mine -> [{I, E, bytes_differ, erlang, Mine, rust, B} | Bad];
            _ -> Bad
        catch C:Why -> [{I, expected, E, C, Why, B} | Bad]
        end,
    consult_compare(Es, Bs, I + 1, R);
consult_compare(_, _, I, Bad) -> lists:reverse([{I, count_differs} | Bad]).

report(N, N, []) -> io:format("ok ~b~n", [N]);
report(N, M, Bad) ->
    io:format("FAILED: ~b expected, ~b got, ~b bad; first: ~tp~n",
              [N, M, length(Bad), lists:sublist(Bad, 5)]).

%% ---- generators ----

gen(0) -> leaf();
gen(D) ->
    case rand:uniform(12) of
        1 -> list_to_tuple(many(D - 1, 6));
        2 -> many(D - 1, 6);
        3 -> improper(D - 1);
        4 -> maps:from_list([{gen(D - 1), gen(D - 1)} || _ <- lists:seq(1, rand:uniform(5) - 1)]);
        5 -> string();
        6 when D >= 2 -> special_container(D);
        _ -> leaf()
    end.

many(D, Max) -> [gen(D) || _ <- lists:seq(1, rand:uniform(Max + 1) - 1)].

improper(D) ->
    Tail = case leaf() of [] -> a; L when is_list(L) -> b; T -> T end,
    lists:foldl(fun(E, Acc) -> [E | Acc] end, Tail, many(D, 4) ++ [gen(D)]).

%% Rarer shapes: wide tuples, big maps (hash maps past 32 keys), long lists.
special_container(D) ->
    case rand:uniform(6) of
        1 -> list_to_tuple([leaf() || _ <- lists:seq(1, 256 + rand:uniform(50))]);
        2 -> maps:from_list([{I, leaf()} || I <- lists:seq(1, 33 + rand:uniform(20))]);
        3 -> [rand:uniform(256) - 1 || _ <- lists:seq(1, 300)];
        4 -> [rand:uniform(600) - 300 || _ <- lists:seq(1, 50)];
        5 -> #{gen(D - 1) => [gen(D - 1)], <<"k">> => {gen(D - 2)}};
        6 -> fun(X) -> {X, D} end
    end.

string() ->
    case rand:uniform(3) of
        1 -> [rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(40))];
        2 -> "hello";
        3 -> unicode:characters_to_list(<<"héllo wörld ✓"/utf8>>)
    end.

leaf() ->
    case rand:uniform(16) of
        1 -> atom();
        2 -> atom();
        3 -> rand:uniform(256) - 1;
        4 -> rand:uniform(1 bsl 32) - (1 bsl 31);
        5 -> rand:uniform(1 bsl 64) - (1 bsl 63);
        6 -> big();
        7 -> float();
        8 -> rand:bytes(rand:uniform(40) - 1);
        9 -> bitstring();
        10 -> [];
        11 -> pid();
        12 -> ref();
        13 -> port();
        14 -> fun lists:map/2;
        15 -> float();
        16 -> big()
    end.

atom() ->
    case rand:uniform(6) of
        1 -> ok;
        2 -> '';
        3 -> list_to_atom([$a + rand:uniform(26) - 1 || _ <- lists:seq(1, rand:uniform(12))]);
        %% Latin-1 only: minor_version 1 writes these as ATOM_EXT.
        4 -> list_to_atom([160 + rand:uniform(95) || _ <- lists:seq(1, rand:uniform(8))]);
        5 -> list_to_atom([unicode_char() || _ <- lists:seq(1, rand:uniform(10))]);
        6 -> list_to_atom([unicode_char() || _ <- lists:seq(1, 250 + rand:uniform(5))])
    end.

unicode_char() ->
    case rand:uniform(4) of
        1 -> 16#430 + rand:uniform(32);      % Cyrillic
        2 -> 16#4E00 + rand:uniform(1000);   % CJK
        3 -> 16#1F600 + rand:uniform(60);    % emoji, 4 bytes in UTF-8
        4 -> $a + rand:uniform(26) - 1
    end.

big() ->
    Bits = 64 + rand:uniform(2200),
    N = rand:uniform(1 bsl Bits),
    case rand:uniform(2) of 1 -> N; 2 -> -N end.

float() ->
    case rand:uniform(4) of
        1 -> (rand:uniform() - 0.5) * 1.0e6;
        2 -> -0.0;
        3 -> rand:uniform() * math:pow(10, rand:uniform(600) - 300);
        4 ->
            <<Bits:64>> = rand:bytes(8),
            case <<Bits:64>> of
                <<F/float>> -> F;
                _ -> 1.5
            end
    end.

bitstring() ->
    B = rand:bytes(rand:uniform(10) - 1),
    K = rand:uniform(7),
    <<B/binary, (rand:uniform(1 bsl K) - 1):K>>.

pid() ->
    case rand:uniform(2) of
        1 -> self();
        2 -> binary_to_term(<<131, 88, 119, 8, "a@host.x", (rand:uniform(1 bsl 28)):32,
                              (rand:uniform(1 bsl 15)):32, (rand:uniform(1 bsl 32) - 1):32>>)
    end.

ref() ->
    case rand:uniform(2) of
        1 -> make_ref();
        2 ->
            Len = rand:uniform(5),
            binary_to_term(<<131, 90, Len:16, 119, 3, "b@c", (rand:uniform(1 bsl 32) - 1):32,
                             << <<(rand:uniform(1 bsl 32) - 1):32>> || _ <- lists:seq(1, Len) >>/binary>>)
    end.

port() ->
    case rand:uniform(2) of
        1 -> hd(erlang:ports());
        2 -> binary_to_term(<<131, 120, 119, 3, "p@q", (rand:uniform(1 bsl 60)):64,
                              (rand:uniform(1 bsl 32) - 1):32>>)
    end.
